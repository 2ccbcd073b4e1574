"""Helpers shared by the absl binaries: one-line errors and exit codes."""

import os
import sys

from absl import flags


def fail(message: str, code: int = 1) -> None:
    """Prints `<program>: error: <message>` (one line) to stderr and exits non-zero."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "ave_tf"
    first_line = " ".join(str(message).split("\n")).strip()
    print(f"{program}: error: {first_line}", file=sys.stderr, flush=True)
    sys.exit(code)


def require_flags(*names: str) -> None:
    """Fails naming the first required flag that is empty."""
    for name in names:
        if not getattr(flags.FLAGS, name):
            fail(f"--{name} is required")


def parse_flags(argv: list[str], default_verbosity: int = -1) -> list[str]:
    """absl flag parser for app.run(flags_parser=...): a bad flag is a one-line error, exit 1.

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


def run_main(main, default_verbosity: int = -1) -> None:
    """app.run with one-line flag errors; `default_verbosity` 0 keeps absl INFO logs (servers)."""
    from absl import app

    app.run(main, flags_parser=lambda argv: parse_flags(argv, default_verbosity))
