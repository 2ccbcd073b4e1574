"""tensorflow-io: its native ops load on the pinned stack; elsewhere ave_tf falls back clearly."""

import importlib.util

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.utils import tfio_compat

# The optional extra installed on a TensorFlow its native ops load with (make test-tfio).
PINNED = tf.__version__.startswith(("2.16.", "2.17.")) and (
    importlib.util.find_spec("tensorflow_io") is not None
)


@pytest.mark.skipif(not PINNED, reason=f"TF {tf.__version__}: no loadable tensorflow-io here")
def test_native_ops_load_and_resample_on_the_pinned_stack():
    tfio, reason = tfio_compat.load_tfio()
    assert tfio is not None, reason
    t = np.arange(44100, dtype=np.float32) / 44100
    tone = np.sin(2 * np.pi * 440 * t)[:, None]
    resampled = tfio.audio.resample(tone, rate_in=44100, rate_out=16000).numpy()
    assert abs(resampled.shape[0] - 16000) <= 2
    # The 440 Hz tone survives: its spectrum peaks at 440 Hz at the new rate.
    spectrum = np.abs(np.fft.rfft(resampled[:, 0]))
    assert abs(np.argmax(spectrum) * 16000 / resampled.shape[0] - 440) < 3
    tfio_compat.ensure_filesystem("s3://bucket/shards")  # registered: no error


@pytest.mark.skipif(PINNED, reason="tensorflow-io loads on the pinned stack")
def test_newer_tensorflow_falls_back_with_a_clear_message():
    tfio, reason = tfio_compat.load_tfio()
    assert tfio is None and tf.__version__ in reason and "2.16/2.17" in reason
    with pytest.raises(tfio_compat.TfioUnavailableError, match=r"s3://bucket.*tensorflow-io"):
        tfio_compat.ensure_filesystem("s3://bucket/shards")


def test_local_and_gcs_paths_never_need_tensorflow_io(tmp_path):
    tfio_compat.ensure_filesystem(str(tmp_path))
    tfio_compat.ensure_filesystem("gs://bucket/shards")
