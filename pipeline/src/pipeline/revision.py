"""Which revision a run is of, when the user does not say."""

import dagger


async def source_commit(git: dagger.GitRef | None) -> str:
    """The commit of the source's checkout (module mode: DefaultPath("./.git")); "" without one."""
    return await git.commit() if git is not None else ""
