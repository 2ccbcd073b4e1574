"""Prints the command-line reference of every console script (docs/cli.md) from its flags.

  python -m ave_tf.bin.cli_reference > docs/cli.md

Each binary's `define_flags()` is run in turn and its flags listed with their defaults and help;
`tests/test_docs.py` fails when docs/cli.md differs from this output.
"""

import importlib
import sys

from absl import flags

# The console scripts of setup.py, in the order data flows through them.
BINARIES = (
    "ave_synth", "ave_convert", "ave_extract", "ave_train", "ave_eval", "ave_export",
    "ave_serve", "ave_query", "ave_localize",
)  # fmt: skip


def _default(flag) -> str:
    value = flag.default
    if value is None:
        from ave_tf.experiments.cli import SHORTCUTS

        shortcut = flag.name in {s.flag for s in SHORTCUTS} and (
            flags.FLAGS.find_module_defining_flag(flag.name) == "ave_tf.experiments.cli"
        )
        return "(experiment)" if shortcut else "-"
    if isinstance(value, list):
        return "`" + ",".join(str(v) for v in value) + "`" if value else "-"
    return f"`{value}`" if str(value) != "" else "`''`"


def reference() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Generated from the flag definitions by `python -m ave_tf.bin.cli_reference`; a test keeps",
        "it in sync. Every binary also takes absl's `--helpfull`, `--flagfile` and `--verbosity`,",
        "and `--verbose` (print an error's traceback). Exit codes: 0 success; 2 an expected",
        "failure, reported in one line naming the flag, file or record; 1 an internal error (a",
        "bug: one line, `--verbose` for the traceback); 128 + N when stopped by signal N.",
        "Flags marked *(experiment)* are shortcuts: they set one field of the experiment config",
        "(shown in their help) and default to the experiment's value.",
    ]
    for name in BINARIES:
        module = importlib.import_module(f"ave_tf.bin.{name}")
        before = set(flags.FLAGS)
        module.define_flags()
        added = [n for n in flags.FLAGS if n not in before]
        summary = (module.__doc__ or name).strip().splitlines()[0]
        lines += ["", f"## {name}", "", summary, "", "| flag | default | |", "|---|---|---|"]
        for flag_name in sorted(added, key=lambda n: (flags.FLAGS[n].name != n, n)):
            flag = flags.FLAGS[flag_name]
            if flag.name != flag_name:
                continue  # a short name
            text = " ".join(flag.help.split()).replace("|", "\\|")
            lines.append(f"| `--{flag.name}` | {_default(flag)} | {text} |")
        for flag_name in added:
            delattr(flags.FLAGS, flag_name)
    return "\n".join(lines + _experiments()) + "\n"


def _experiments() -> list[str]:
    from ave_tf.experiments import experiment_names
    from ave_tf.experiments.registry import experiment_spec

    lines = ["", "## Registered experiments (`--experiment=NAME`)", ""]
    lines += ["| name | paper table | row | task | model |", "|---|---|---|---|---|"]
    for name in experiment_names():
        spec, config = experiment_spec(name), experiment_spec(name).build()
        row = f"| `{name}` | {spec.table or '-'} | {spec.label} | {config.task.name} |"
        lines.append(f"{row} {type(config.model).registered_name} |")
    return lines


if __name__ == "__main__":
    sys.stdout.write(reference())
