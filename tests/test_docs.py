"""The documentation stays current: the CLI reference is what the binaries define."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_cli_reference_matches_the_flag_definitions():
    generated = subprocess.run(
        [sys.executable, "-m", "ave_tf.bin.cli_reference"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert generated.returncode == 0, generated.stderr[-2000:]
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert generated.stdout == committed, (
        "docs/cli.md is stale: run `.venv/bin/python -m ave_tf.bin.cli_reference > docs/cli.md`"
    )


def test_readme_names_only_registered_experiments():
    import re

    from ave_tf.experiments import experiment_names

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    # The README's own example module registers my_lab/...; every other name must exist.
    named = {n for n in re.findall(r"--experiment=([\w/]+)", text) if not n.startswith("my_lab/")}
    assert named, "the README shows how to run an experiment"
    assert named <= set(experiment_names()), named - set(experiment_names())
