"""tensorflow-io, an optional extra (`ave_tf[tfio]`), where its native ops load (TF 2.16/2.17).

tensorflow-io registers extra file systems (S3, HDFS, Azure, HTTP) and provides an audio
resampler. Its last release (0.37.1) is unmaintained, and its shared objects fail with undefined
symbols on TF >= 2.18. Without it ave_tf works on local and GCS paths (FFmpeg resamples audio,
faster: benchmarks/resample_benchmark.py) and says why the other schemes are unavailable.
"""

import functools
import logging

import tensorflow as tf

# Schemes TensorFlow itself does not provide (gs:// is built in).
TFIO_SCHEMES = ("s3://", "hdfs://", "viewfs://", "az://", "http://", "https://")


class TfioUnavailableError(RuntimeError):
    """A feature needs tensorflow-io's native ops, which do not load here."""


@functools.lru_cache(maxsize=1)
def load_tfio():
    """Returns (module, None) when tensorflow-io's native ops load, else (None, reason)."""
    try:
        import tensorflow_io as tfio
    except ImportError:
        reason = (
            "tensorflow-io is not installed (the optional extra ave_tf[tfio]; its native ops "
            f"load with TF 2.16/2.17, this is TensorFlow {tf.__version__})"
        )
        return None, reason
    try:
        # Importing is lazy; running an op loads the shared object for real.
        _ = tfio.audio.resample(tf.zeros([2, 1]), rate_in=2, rate_out=2)
        # Loading the file-system plugins registers s3://, hdfs://, ...
        import tensorflow_io.python.ops  # noqa: F401
    except Exception as e:  # noqa: BLE001 - any load failure means "not available"
        reason = (
            f"tensorflow-io's native ops do not load with TensorFlow {tf.__version__} "
            f"({_cause(e)}); they load with TF 2.16/2.17"
        )
        logging.info(reason)
        return None, reason
    return tfio, None


def _cause(error: Exception) -> str:
    """The informative line of a (possibly multi-line, traced) load error."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for needle in ("undefined symbol", "unable to open", "Error:"):
        for line in lines:
            if needle in line:
                if "undefined symbol" in line:
                    return "undefined symbol in libtensorflow_io.so"
                return line[:200]
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}"


def tfio_available() -> bool:
    return load_tfio()[0] is not None


def ensure_filesystem(path: str) -> None:
    """Makes sure the file system of `path` is registered; raises a clear error if it cannot be."""
    if not path.startswith(TFIO_SCHEMES):
        return
    module, reason = load_tfio()
    if module is None:
        scheme = path.split("://", 1)[0]
        raise TfioUnavailableError(
            f"{path}: {scheme}:// paths need tensorflow-io, but {reason}. "
            "Use a local or gs:// path, or the optional tensorflow-io stack "
            "(pip install -c constraints-tfio.txt ave_tf[tfio])."
        )
