"""Client mode's failures (pipeline.client.failures), pure: an error as one message."""

from dagger.provisioning import SessionError
from pipeline.client.failures import failed, failure
from pipeline.errors import ArgumentError


def test_a_relabelled_pipeline_error_ends_as_its_own_message() -> None:
    """dagger.connection() wraps it as an engine failure; the message is the pipeline's."""
    cause = ArgumentError("image", "must be pinned by digest")
    relabelled = SessionError(cause)
    relabelled.__cause__ = cause
    assert failure(relabelled, started=True) == "--image must be pinned by digest"


def test_a_bug_keeps_its_traceback() -> None:
    """A TypeError is not the user's to fix: no message, so main() re-raises it."""
    assert failure(TypeError("bug"), started=True) is None


def test_an_engine_that_cannot_start_is_one_message() -> None:
    """Before the connection opened, a session error is the message itself."""
    exc = SessionError(OSError("no such file: dagger"))
    assert failure(exc, started=False) == str(exc)


def test_a_summary_starts_on_its_own_line() -> None:
    """A one-line message follows the prefix; a multi-line one (a summary) goes below it."""
    assert failed("lint", "boom") == "python -m pipeline lint failed: boom"
    assert failed("ci", "# ci FAILED\n| a |") == "python -m pipeline ci failed:\n# ci FAILED\n| a |"
