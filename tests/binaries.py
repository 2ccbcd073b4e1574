"""Runs ave_tf's binaries as real processes for tests."""

import subprocess
import sys


def run_binary(name: str, *flags: str, env=None, timeout: int = 600):
    """`python -m ave_tf.bin.NAME FLAGS...`, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", f"ave_tf.bin.{name}", *flags],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
