"""VGGish in Keras: shapes, the checkpoint converter, weight-file errors, the audio extractor."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.features import audio_features, convert_vggish, vggish
from ave_tf.features.weight_files import WeightsError

# (slim scope, kernel shape) of every variable of the released checkpoint.
_VARIABLES = {
    "vggish/conv1": (3, 3, 1, 64),
    "vggish/conv2": (3, 3, 64, 128),
    "vggish/conv3/conv3_1": (3, 3, 128, 256),
    "vggish/conv3/conv3_2": (3, 3, 256, 256),
    "vggish/conv4/conv4_1": (3, 3, 256, 512),
    "vggish/conv4/conv4_2": (3, 3, 512, 512),
    "vggish/fc1/fc1_1": (12288, 4096),
    "vggish/fc1/fc1_2": (4096, 4096),
    "vggish/fc2": (4096, 128),
}


def _random_checkpoint_arrays(seed: int = 0, scopes=tuple(_VARIABLES)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {}
    for scope in scopes:
        shape = _VARIABLES[scope]
        fan_in = int(np.prod(shape[:-1]))
        weights = rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2 / fan_in))
        arrays[f"{scope}/weights"] = weights
        arrays[f"{scope}/biases"] = (0.01 * rng.standard_normal(shape[-1])).astype(np.float32)
    return arrays


def _write_tf1_checkpoint(prefix: str, arrays: dict[str, np.ndarray]) -> str:
    """A name-based (TF1 Saver style) checkpoint with exactly these variable names."""
    names = sorted(arrays)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[arrays[n] for n in names],
    )
    return prefix


def _slim_reference(arrays: dict[str, np.ndarray], examples: np.ndarray, relu: bool = True):
    """The TF1 slim graph of vggish_slim.py written with tf.nn ops (NHWC)."""
    x = tf.constant(examples[..., None])

    def conv(x, scope):
        y = tf.nn.conv2d(x, arrays[f"{scope}/weights"], 1, "SAME") + arrays[f"{scope}/biases"]
        return tf.nn.relu(y)

    def pool(x):
        return tf.nn.max_pool2d(x, 2, 2, "SAME")

    x = pool(conv(x, "vggish/conv1"))
    x = pool(conv(x, "vggish/conv2"))
    x = pool(conv(conv(x, "vggish/conv3/conv3_1"), "vggish/conv3/conv3_2"))
    x = pool(conv(conv(x, "vggish/conv4/conv4_1"), "vggish/conv4/conv4_2"))
    x = tf.reshape(x, [x.shape[0], -1])
    for scope in ("vggish/fc1/fc1_1", "vggish/fc1/fc1_2"):
        x = tf.nn.relu(x @ arrays[f"{scope}/weights"] + arrays[f"{scope}/biases"])
    x = x @ arrays["vggish/fc2/weights"] + arrays["vggish/fc2/biases"]
    return (tf.nn.relu(x) if relu else x).numpy()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A random checkpoint with the variable names of the released one."""
    arrays = _random_checkpoint_arrays()
    prefix = str(tmp_path_factory.mktemp("ckpt") / "vggish_model.ckpt")
    return arrays, _write_tf1_checkpoint(prefix, arrays)


@pytest.fixture(scope="module")
def extractor(checkpoint, tmp_path_factory):
    """The checkpoint converted by `convert_vggish.convert`, loaded by the audio extractor."""
    output = str(tmp_path_factory.mktemp("keras") / "vggish.weights.h5")
    assert convert_vggish.convert(checkpoint[1], output) == output
    assert os.listdir(os.path.dirname(output)) == ["vggish.weights.h5"]  # no temporary left
    return audio_features.AudioFeatureExtractor(output, batch_size=2)


def test_vggish_shapes_and_linear_embedding():
    examples = np.random.default_rng(0).standard_normal([3, 96, 64]).astype(np.float32)
    model = vggish.build_vggish(embedding_relu=False, random_seed=3)
    assert model.output_shape == (None, 128)
    assert model.count_params() == 72_141_184  # the released VGGish
    linear = model(examples).numpy()
    assert linear.shape == (3, 128) and (linear < 0).any()  # the ReLU variant: see the extractor


def test_converted_weights_reproduce_the_slim_graph(checkpoint, extractor):
    arrays, _ = checkpoint
    model = extractor.model
    np.testing.assert_array_equal(
        model.get_layer("conv3_1").get_weights()[0], arrays["vggish/conv3/conv3_1/weights"]
    )
    examples = np.random.default_rng(1).standard_normal([2, 96, 64]).astype(np.float32)
    ours = model(examples).numpy()
    reference = _slim_reference(arrays, examples)
    assert (reference > 0).any()
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-4 * np.abs(reference).max())


def test_audio_extractor_gives_one_embedding_per_segment(extractor):
    t = np.arange(3 * 16000 - 200) / 16000  # 12.5 ms short of 3 s: padded
    waveform = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    embeddings = extractor(waveform, num_segments=3)
    assert embeddings.shape == (3, 128) and embeddings.dtype == np.float32
    assert embeddings.min() >= 0.0
    # The same examples in one batch: batching by 2 does not change the result.
    direct = extractor.model(extractor.examples(waveform, 3)).numpy()
    np.testing.assert_allclose(embeddings, direct, rtol=1e-5, atol=1e-4)
    # A steady tone gives (nearly) the same embedding in every aligned segment.
    np.testing.assert_allclose(embeddings[0], embeddings[1], rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_convert_tool_runs_as_a_module(checkpoint, tmp_path):
    output = str(tmp_path / "vggish.weights.h5")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ave_tf.features.convert_vggish",
            f"--checkpoint={checkpoint[1]}",
            f"--output={output}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.path.isfile(output)


def test_convert_tool_fails_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ave_tf.features.convert_vggish",
            f"--checkpoint={tmp_path / 'missing.ckpt'}",
            f"--output={tmp_path / 'out.weights.h5'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert re.match(r"convert_vggish(\.py)?: error: ", last) and "missing.ckpt" in last
    assert not os.path.exists(tmp_path / "out.weights.h5")


def test_missing_variable_is_named(tmp_path):
    arrays = _random_checkpoint_arrays(scopes=["vggish/conv1"])
    checkpoint = _write_tf1_checkpoint(str(tmp_path / "partial.ckpt"), arrays)
    with pytest.raises(
        convert_vggish.CheckpointError, match="missing variable vggish/conv2/weights"
    ):
        convert_vggish.read_checkpoint(checkpoint)


def test_unreadable_checkpoint_is_named(tmp_path):
    with pytest.raises(convert_vggish.CheckpointError, match="nothing.ckpt"):
        convert_vggish.read_checkpoint(str(tmp_path / "nothing.ckpt"))


def test_missing_weight_file_says_where_to_get_it(tmp_path):
    missing = str(tmp_path / "vggish.weights.h5")
    with pytest.raises(WeightsError) as error:
        audio_features.load_vggish(missing)
    message = str(error.value)
    assert message.startswith(f"--vggish_weights: weight file {missing} not found")
    assert "vggish_model.ckpt" in message and "convert_vggish" in message
    with pytest.raises(WeightsError, match="--vggish_weights is required"):
        audio_features.load_vggish(None)


def test_wrong_weight_file_is_named(tmp_path):
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"not an h5 file")
    with pytest.raises(WeightsError, match="is not a converted VGGish weight file"):
        audio_features.load_vggish(str(bad))


def test_pca_postprocess(tmp_path):
    rng = np.random.default_rng(0)
    eigen, _ = np.linalg.qr(rng.standard_normal([128, 128]))
    means = rng.standard_normal([128, 1])
    params = tmp_path / "vggish_pca_params.npz"
    np.savez(params, pca_eigen_vectors=eigen, pca_means=means)
    from ave_tf.features.vggish_postprocess import PcaPostprocessor

    embeddings = rng.standard_normal([4, 128])
    projected = PcaPostprocessor(str(params), quantize=False)(embeddings)
    np.testing.assert_allclose(projected, (eigen @ (embeddings.T - means)).T, rtol=1e-5)
    quantized = PcaPostprocessor(str(params))(embeddings)
    assert quantized.min() >= 0 and quantized.max() <= 255
    np.testing.assert_array_equal(quantized, np.round(quantized))
    bad = tmp_path / "bad.npz"
    np.savez(bad, something=means)
    with pytest.raises(WeightsError, match="--vggish_pca_params"):
        PcaPostprocessor(str(bad))
