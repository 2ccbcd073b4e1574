"""ave_extract and ave_localize run TensorFlow with oneDNN kernels unless the user chose."""

import os
import subprocess
import sys

import pytest

_PROBE = (
    "import ave_tf.bin.{binary}\n"
    "from tensorflow.python.util import _pywrap_util_port\n"
    "print(_pywrap_util_port.IsMklEnabled())\n"
)


def _onednn_enabled(binary: str, setting: str | None) -> str:
    env = dict(os.environ)
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(binary=binary)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("binary", ["ave_extract", "ave_localize"])
def test_onednn_is_on_by_default(binary):
    assert _onednn_enabled(binary, None) == "True"


def test_the_users_setting_wins():
    assert _onednn_enabled("ave_extract", "0") == "False"
