"""Helpers shared by the absl binaries: one-line errors and exit codes.

Exit codes: 0 success; 2 an expected failure (bad flag, path, record or full disk: one line
naming it and what to do); 1 an internal error (a bug: one line, `--verbose` for the traceback);
128 + N when stopped by signal N (SIGINT, SIGTERM), after `finally` blocks removed temporary files.
"""

import gc
import os
import signal
import sys
import traceback

from absl import flags

from ave_tf.utils.errors import describe, expected_message

EXPECTED_FAILURE = 2
INTERNAL_ERROR = 1


def _program() -> str:
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "ave_tf"


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _verbose() -> bool:
    return "verbose" in flags.FLAGS and flags.FLAGS.is_parsed() and flags.FLAGS.verbose


def _exit(line: str, code: int) -> None:
    """Prints `line` and exits. Objects of the failed call are freed first, quietly: an h5py
    file on a full disk would complain again (or crash) when freed at shutdown."""
    if not _verbose():
        sys.unraisablehook = lambda _: None
    gc.collect()
    print(line, file=sys.stderr, flush=True)
    sys.exit(code)


def fail(message, code: int = EXPECTED_FAILURE) -> None:
    """Prints `<program>: error: <message>` (one line) to stderr and exits non-zero; an
    exception as `message` is described as the top-level handler would (an OSError's file)."""
    if isinstance(message, BaseException):
        message = describe(message)
    _exit(f"{_program()}: error: {_one_line(message)}", code)


def require_flags(*names: str) -> None:
    """Fails naming the first required flag that is empty."""
    for name in names:
        if not getattr(flags.FLAGS, name):
            fail(f"--{name} is required")


def define_verbose_flag() -> None:
    """--verbose: print the traceback of an error (defined once, whoever asks first)."""
    if "verbose" not in flags.FLAGS:
        flags.DEFINE_bool("verbose", False, "On an error, also print its Python traceback.")


def parse_flags(argv: list[str], default_verbosity: int = -1) -> list[str]:
    """absl flag parser for app.run(flags_parser=...): a bad flag is a one-line error, exit 2.

    Unless --verbosity is given, absl logging shows warnings and errors only (-1): TensorFlow
    logs checkpoint and export details at INFO through absl, which buries the binaries' output.
    """
    try:
        remaining = flags.FLAGS(argv)
    except flags.Error as e:
        fail(f"{e} (see --helpfull)")
        return []
    if not flags.FLAGS["verbosity"].present:
        flags.FLAGS.verbosity = default_verbosity
    return remaining


class Stopped(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that `finally` blocks clean up as for Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum, _frame):
    raise Stopped(signum)


def _outcome(error: BaseException) -> tuple[str, int]:
    """The one line and exit code reporting an exception that ended main()."""
    from absl import app

    if isinstance(error, app.UsageError):
        return f"{_program()}: error: {_one_line(error)}", EXPECTED_FAILURE
    if isinstance(error, KeyboardInterrupt):
        signum = error.signum if isinstance(error, Stopped) else signal.SIGINT
        return f"{_program()}: stopped by {signal.Signals(signum).name}", 128 + signum
    message = expected_message(error)
    if message is not None:
        return f"{_program()}: error: {_one_line(message)}", EXPECTED_FAILURE
    hint = "" if _verbose() else " (rerun with --verbose for the traceback)"
    return (
        f"{_program()}: internal error: {type(error).__name__}: {_one_line(error)}{hint}",
        INTERNAL_ERROR,
    )


def _run_guarded(main, argv):
    """Calls main(argv); reports any exception in one line with the exit codes above."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        return main(argv)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - the one place that reports every failure
        if _verbose():
            traceback.print_exc()
        line, code = _outcome(e)
    # Outside the except block, so that the failed call's frames can be freed before exiting.
    _exit(line, code)


def run_main(main, default_verbosity: int = -1) -> None:
    """app.run with one-line errors (see the exit codes above); `default_verbosity` 0 keeps
    absl INFO logs (servers)."""
    from absl import app

    define_verbose_flag()
    app.run(
        lambda argv: _run_guarded(main, argv),
        flags_parser=lambda argv: parse_flags(argv, default_verbosity),
    )
