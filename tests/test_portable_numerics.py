"""Machine-independent synthetic data: the AVX2 kernel pin and the bytes it buys."""

import glob
import hashlib
import json
import os
import platform
import subprocess
import sys

import numpy  # loaded here: test_too_late_once_numpy_is_loaded relies on it
import pytest

from ave_tf.utils import portable_numerics
from ave_tf.utils.portable_numerics import PINNED_ENV, pin_avx2_kernels

CAN_PIN = (
    platform.machine().lower() in ("x86_64", "amd64")
    and sys.platform.startswith("linux")
    and {"avx2", "fma"} <= portable_numerics._cpu_flags()
    and int(numpy.__version__.split(".")[0]) >= 2
)
# sha256 of the shards `ave_synth --fraction=0.005 --seed=3` writes (visual float16), the same on
# AVX2 (EPYC) and AVX-512 (Sapphire Rapids) machines once pinned, per numpy version (its kernels
# change between releases; constraints.txt pins it). A deliberate generator change bumps
# GENERATOR_VERSION and this value; an accidental one (or a lost pin) fails here.
TINY_SEED3_SHARDS = {"2.4.6": "a78df3a94f53f8da"}


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PINNED_ENV}
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def _python(code: str, env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


_KEYS = sorted(PINNED_ENV)
_REPORT = (
    "import json, os, ave_tf.bin.ave_synth, numpy\n"
    "try:\n    from numpy._core._multiarray_umath import __cpu_features__ as f\n"
    "except ImportError:  # numpy 1\n"
    "    from numpy.core._multiarray_umath import __cpu_features__ as f\n"
    f"print(json.dumps({{'env': {{k: os.environ.get(k) for k in {_KEYS!r}}},"
    " 'avx512_skx': f.get('AVX512_SKX', False)}))\n"
)


def test_the_ave_synth_binary_pins_before_numpy_loads():
    report = json.loads(_python(_REPORT, _clean_env()))
    if CAN_PIN:
        assert report["env"] == PINNED_ENV
        assert report["avx512_skx"] is False  # numpy's AVX-512 dispatch really is off
    else:
        assert report["env"] == dict.fromkeys(PINNED_ENV)


def test_values_the_user_set_are_kept():
    code = "from ave_tf.utils.portable_numerics import pin_avx2_kernels as p; print(p())"
    env = _clean_env(OPENBLAS_CORETYPE="SkylakeX")
    assert _python(code, env) == "False"
    report = json.loads(_python(_REPORT, env))
    assert report["env"]["OPENBLAS_CORETYPE"] == "SkylakeX"


@pytest.mark.parametrize("flags", ["fpu sse2 avx", None])
def test_no_pin_without_avx2_and_fma(tmp_path, flags):
    cpuinfo = tmp_path / "cpuinfo"  # an old CPU, or no /proc/cpuinfo at all
    if flags is not None:
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    code = (
        "import os; from ave_tf.utils.portable_numerics import pin_avx2_kernels as p\n"
        f"print(p({str(cpuinfo)!r}), os.environ.get('OPENBLAS_CORETYPE'))"
    )
    assert _python(code, _clean_env()) == "False None"


def test_too_late_once_numpy_is_loaded(monkeypatch):
    # numpy is loaded in this process: the environment is left as it is.
    for key in PINNED_ENV:
        monkeypatch.delenv(key, raising=False)
    assert pin_avx2_kernels() is False
    assert all(key not in os.environ for key in PINNED_ENV)
    for key, value in PINNED_ENV.items():
        monkeypatch.setenv(key, value)
    assert pin_avx2_kernels() is True  # says the loaded numpy had the pin


@pytest.mark.skipif(not CAN_PIN, reason="the pinned kernels are x86-64 AVX2/FMA ones, numpy 2")
@pytest.mark.skipif(
    numpy.__version__ not in TINY_SEED3_SHARDS, reason="digest recorded for another numpy"
)
def test_ave_synth_writes_the_same_bytes_on_every_x86_kind(tmp_path):
    out = tmp_path / "tiny"
    result = subprocess.run(
        [sys.executable, "-m", "ave_tf.bin.ave_synth", f"--output_dir={out}",
         "--fraction=0.005", "--seed=3", "--noprogress"],
        capture_output=True, text=True, timeout=300, env=_clean_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    digest = hashlib.sha256()
    for path in sorted(glob.glob(str(out / "*.tfrecord"))):
        with open(path, "rb") as f:
            digest.update(f.read())
    assert digest.hexdigest()[:16] == TINY_SEED3_SHARDS[numpy.__version__]
