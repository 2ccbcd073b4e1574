"""Pins numpy's and OpenBLAS's x86 kernels to the AVX2/FMA ones, for machine-independent bytes.

The synthetic generator's float32 GEMMs (OpenBLAS) and exp/power (numpy's SIMD dispatch) round
differently with the AVX-512 kernels than with the AVX2 ones, so `ave_synth --seed=N` wrote
other bytes on an AVX-512 Xeon than on an AVX2 EPYC. With these kernels pinned, both kinds write
the same bytes (checked by benchmarks/full_size_check.py's release fingerprint on both).

Both settings are read once, when numpy loads: `pin_avx2_kernels()` must run before anything
imports numpy, which is why the binaries that generate data call it before their imports.
"""

import importlib.metadata
import os
import platform
import sys

PINNED_ENV = {
    # numpy >= 2's dispatch targets above AVX2 (X86_V4 is its AVX-512 group; numpy 1 names them
    # otherwise and is left alone: only the optional tensorflow-io stack has it).
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    # OpenBLAS's Haswell kernels are its AVX2/FMA ones (also what it picks on AMD Zen).
    "OPENBLAS_CORETYPE": "Haswell",
}


def _cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set:
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _numpy_major() -> int:
    try:  # the installed version, without importing numpy
        return int(importlib.metadata.version("numpy").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return 0


def pin_avx2_kernels(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Pins the kernels where that is possible; returns whether they are pinned for this process.

    Only on x86-64 Linux with AVX2 and FMA (the Haswell kernels would fault on older CPUs; other
    architectures have other kernels anyway) and numpy 2. Values the user set are kept. Once
    numpy is loaded nothing changes: the answer then says whether it loaded with the pin.
    """
    pinned = all(os.environ.get(k) == v for k, v in PINNED_ENV.items())
    if "numpy" in sys.modules:
        return pinned
    if platform.machine().lower() not in ("x86_64", "amd64") or not sys.platform.startswith(
        "linux"
    ):
        return False
    if not {"avx2", "fma"} <= _cpu_flags(cpuinfo) or _numpy_major() < 2:
        return False
    for key, value in PINNED_ENV.items():
        os.environ.setdefault(key, value)
    return all(os.environ.get(k) == v for k, v in PINNED_ENV.items())
