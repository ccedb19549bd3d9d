"""Client mode's command line (pipeline.client's parser and help), pure: no engine.

A sample object type with one argument of every kind stands in for the pipeline,
so these tests do not move when the pipeline's own signatures change; the last
tests check that every argument of the real pipeline is one the parser converts.
"""

import enum
from pathlib import Path
from typing import Annotated, Any

import dagger
import pytest
from dagger import DefaultPath, Doc, Ignore, Name
from dagger.mod import Module
from pipeline.client import parser
from pipeline.client.grammar import HOST_KINDS, UsageError
from pipeline.client.signatures import describe
from pipeline.client.values import HostPath, SecretUri

from pipeline import Pipeline

mod = Module()  # not the default module: nothing here is registered with the pipeline


@mod.enum_type
class Env(enum.Enum):
    """A deployment target."""

    STAGING = "staging"
    PRODUCTION = "production"


@mod.object_type
class Sample:
    """A sample object."""

    source: Annotated[dagger.Directory, Doc("The source."), DefaultPath("/"), Ignore(["*", "!a/"])]
    git: Annotated[dagger.GitRef | None, Doc("The checkout."), DefaultPath("./.git")] = None
    image: Annotated[str, Doc("Base image.")] = "alpine"

    @mod.function
    def run(
        self,
        name: Annotated[str, Doc("Who.")],
        count: Annotated[int, Doc("How many. Default 1.")] = 1,
        ratio: float = 0.5,
        wait: bool = False,
        tags: list[str] = [],  # noqa: B006
        env: Env = Env.STAGING,
        token: dagger.Secret | None = None,
        key: dagger.File | None = None,
        out: dagger.Directory | None = None,
        from_: Annotated[str, Name("from")] = "",
    ) -> str:
        """Run it.

        At length.
        """
        return name

    @mod.function
    def build_all(self) -> str:
        """Build everything."""
        return ""


SPEC = describe(Sample)
REQUIRED = ["run", "--name=n"]


def parse(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Any:
    return parser.parse(SPEC, argv, cwd=cwd or Path.cwd(), env=env or {})


def error(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    with pytest.raises(UsageError) as raised:
        parse(*argv, cwd=cwd, env=env)
    return str(raised.value)


def test_constructor_options_before_the_function_and_its_own_after() -> None:
    """`--image=x run --name=n`: the image goes to the constructor, the name to run."""
    call = parse("--image=x", *REQUIRED)
    assert (call.command.method, call.constructor["image"], call.arguments) == (
        "run",
        "x",
        {"name": "n"},
    )


def test_both_spellings_give_the_same_value() -> None:
    """`--name=value` and `--name value` are the same, for the constructor too."""
    spaced = parse("--image", "x", "run", "--name", "n", "--count", "3")
    assert spaced == parse("--image=x", "run", "--name=n", "--count=3")


def test_numbers_are_converted_from_the_type_hints() -> None:
    """An int and a float arrive as numbers, not strings."""
    arguments = parse(*REQUIRED, "--count", "2", "--ratio=0.25").arguments
    assert (arguments["count"], arguments["ratio"]) == (2, 0.25)


def test_a_bad_int_names_the_option_as_typed() -> None:
    """One line: the function, the option, the problem."""
    assert error(*REQUIRED, "--count=two") == (
        "python -m pipeline run: --count: expected an integer, got 'two'"
    )


def test_a_bool_is_a_flag_or_takes_a_value_after_an_equals_sign() -> None:
    """`--wait` is true, `--wait=false` false, as `dagger call` has it."""
    assert parse(*REQUIRED, "--wait").arguments["wait"] is True
    assert parse(*REQUIRED, "--wait=false").arguments["wait"] is False


def test_a_bool_takes_no_separate_value() -> None:
    """`--wait false` says how to write it instead of ignoring the `false`."""
    assert error(*REQUIRED, "--wait", "false").endswith(
        "--wait: unexpected argument 'false'; write --wait=false"
    )


def test_a_list_is_comma_separated_or_repeated() -> None:
    """`--tags=a,b --tags c` is three items."""
    assert parse(*REQUIRED, "--tags=a,b", "--tags", "c").arguments["tags"] == ["a", "b", "c"]


def test_an_enum_takes_a_name_or_a_value_in_any_case() -> None:
    """`--env=production`, `--env PRODUCTION` and `--env=Production` are the member."""
    for value in ("production", "PRODUCTION", "Production"):
        assert parse(*REQUIRED, "--env", value).arguments["env"] is Env.PRODUCTION


def test_a_bad_enum_lists_the_choices() -> None:
    """The message names the option and every choice."""
    assert error(*REQUIRED, "--env=prod").endswith(
        "--env: expected one of staging, production; got 'prod'"
    )


def test_a_secret_is_a_uri_and_never_echoed() -> None:
    """A URI stays a URI (resolved by the engine); a pasted value is refused unprinted."""
    env = {"TOKEN": "s3cr3t"}
    assert parse(*REQUIRED, "--token=env://TOKEN", env=env).arguments["token"] == SecretUri(
        "env://TOKEN"
    )
    assert "s3cr3t" not in error(*REQUIRED, "--token=s3cr3t")


def test_an_env_secret_needs_its_variable_before_connecting() -> None:
    """A secret from an unset variable fails at once, not inside the engine."""
    assert error(*REQUIRED, "--token=env://NOPE").endswith(
        "--token: the environment variable NOPE is not set"
    )


def test_files_and_directories_are_host_paths_that_must_exist(tmp_path: Path) -> None:
    """Relative to the current directory; a missing one fails before connecting."""
    (tmp_path / "key.pem").write_text("k")
    arguments = parse(*REQUIRED, "--key=key.pem", "--out", ".", cwd=tmp_path).arguments
    assert arguments["key"] == HostPath(dagger.File, str(tmp_path / "key.pem"))
    assert arguments["out"] == HostPath(dagger.Directory, str(tmp_path))
    assert error(*REQUIRED, "--key=nope.pem", cwd=tmp_path).endswith(
        "--key: no such file: nope.pem"
    )


def test_optional_arguments_left_out_are_not_passed() -> None:
    """The function's own defaults apply; None is never sent on their behalf."""
    assert parse(*REQUIRED).arguments == {"name": "n"}


def test_an_alternative_name_is_the_option() -> None:
    """`from_: Annotated[str, Name("from")]` is `--from`."""
    assert parse(*REQUIRED, "--from=x").arguments["from_"] == "x"


def test_unknown_options_are_named_with_a_suggestion() -> None:
    """A typo gets the closest option; a constructor option after the function says where."""
    assert error(*REQUIRED, "--cont=2").endswith("--cont: unknown option; did you mean --count?")
    assert "--image: a constructor option: put it before" in error(*REQUIRED, "--image=x")


def test_a_missing_required_argument_is_named() -> None:
    """`run` without --name: the same one-line form."""
    assert error("run") == "python -m pipeline run: --name: required"


def test_functions_are_kebab_case() -> None:
    """`build_all` is `build-all`; the Python spelling is suggested the kebab one."""
    assert parse("build-all").command.method == "build_all"
    assert error("build_all").endswith("unknown function 'build_all'; did you mean build-all?")


def test_the_source_defaults_to_the_current_directory_with_its_ignore_list(tmp_path: Path) -> None:
    """DefaultPath("/") is the current directory, uploaded with the argument's Ignore."""
    (tmp_path / ".git").mkdir()
    constructor = parse(*REQUIRED, cwd=tmp_path).constructor
    assert constructor["source"] == HostPath(dagger.Directory, str(tmp_path), ("*", "!a/"))
    assert constructor["git"] == HostPath(dagger.GitRef, str(tmp_path))


def test_source_override_moves_the_git_default_with_it(tmp_path: Path) -> None:
    """`--source=DIR` without a .git leaves `git` unset (None), not the cwd's checkout."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "other").mkdir()
    constructor = parse("--source=other", *REQUIRED, cwd=tmp_path).constructor
    assert constructor["source"].path == str(tmp_path / "other")
    assert "git" not in constructor


def test_help_lists_functions_and_constructor_options() -> None:
    """`--help`: each function with its docstring's first line, and the options."""
    text = parse("--help")
    assert "  build-all  Build everything." in text
    assert "  run        Run it." in text
    assert '--image string\n      Base image. Default: "alpine".' in text


def test_function_help_shows_doc_type_and_each_default_once() -> None:
    """`run --help`: a Doc that states its default is not given a second one."""
    text = parse("run", "--help")
    assert "At length." in text
    assert "--count int\n      How many. Default 1.\n" in text
    assert "--name string\n      Who. Required.\n" in text
    assert "--env staging|production\n      Default: staging." in text
    assert "--tags string,... (comma-separated)" in text


PIPELINE = describe(Pipeline)


@pytest.mark.parametrize("name", PIPELINE.functions)
def test_every_argument_of_the_pipeline_can_be_given(name: str) -> None:
    """Every option of every function (and the constructor) has a kind the parser converts."""
    options = [*PIPELINE.constructor, *PIPELINE.functions[name].options]
    convertible = (bool, int, float, dagger.Secret, *HOST_KINDS)
    for option in options:
        kind = option.kind
        assert kind in convertible or issubclass(kind, str | enum.Enum), (option.flag, kind)
