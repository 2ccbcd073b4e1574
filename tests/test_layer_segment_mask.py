"""Tests of SegmentMask (padding = trailing segments whose audio and visual are all zero)."""

import keras
import numpy as np
import pytest

from ave_tf.layers import SegmentMask
from tests.layer_checks import run_layer_checks


def test_layer_checks(tmp_path):
    run_layer_checks(
        tmp_path,
        SegmentMask,
        {},
        input_shapes=[(None, 4), (None, 3, 2, 5)],
        expected_output_shapes=lambda b, t: (b, t),
    )


def _mask(audio, visual):
    output = SegmentMask()(np.asarray(audio, "float32"), np.asarray(visual, "float32"))
    assert keras.backend.standardize_dtype(output.dtype) == "float32"
    return keras.ops.convert_to_numpy(output)


def _features(real_audio, real_visual):
    """[B, T, 3] audio and [B, T, 2, 2, 3] visual, 1 where the flags say, 0 elsewhere."""
    audio = np.asarray(real_audio, "float32")[..., None] * np.ones(3, "float32")
    visual = np.asarray(real_visual, "float32")[..., None, None, None] * np.ones((2, 2, 3))
    return audio, visual


def test_trailing_zero_segments_are_padding():
    audio, visual = _features(
        [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]],
        [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]],
    )
    np.testing.assert_array_equal(_mask(audio, visual), [[1, 1, 1, 0, 0], [1] * 5, [1, 0, 0, 0, 0]])


def test_one_modality_is_enough_and_inner_zeros_stay_real():
    audio, visual = _features([[1, 0, 0, 0, 0, 0]], [[0, 0, 1, 0, 0, 0]])
    # Segment 1 is zero in both modalities but a real segment follows it.
    np.testing.assert_array_equal(_mask(audio, visual), [[1, 1, 1, 0, 0, 0]])
    # Audio everywhere: the visual maps are not read (zero visual changes nothing).
    audio, visual = _features([[1, 1, 1], [1, 1, 1]], [[0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(_mask(audio, visual), [[1, 1, 1], [1, 1, 1]])


def test_first_segment_is_always_real():
    """An all-zero video keeps one segment: cuDNN rejects fully masked rows, mean pools need one."""
    audio, visual = _features([[0, 0, 0]], [[0, 0, 0]])
    np.testing.assert_array_equal(_mask(audio, visual), [[1, 0, 0]])


def test_a_single_nonzero_value_or_nan_makes_a_segment_real():
    audio, visual = _features([[1, 0, 0, 0]], [[1, 0, 0, 0]])
    visual[0, 2, 1, 0, 2] = -1e-30  # one tiny value in 12, negative
    audio[0, 1, 1] = np.nan
    np.testing.assert_array_equal(_mask(audio, visual), [[1, 1, 1, 0]])


def test_spatial_audio_and_the_parser_layout():
    """Rank-5 audio maps; a batch padded like `parse_batch` gives exactly the parser's mask."""
    rng = np.random.default_rng(0)
    lengths = [10, 7, 1, 4]
    mask = (np.arange(10)[None] < np.array(lengths)[:, None]).astype("float32")
    audio = rng.uniform(size=(4, 10, 6, 4, 8)).astype("float32") * mask[..., None, None, None]
    visual = rng.uniform(size=(4, 10, 7, 7, 16)).astype("float32") * mask[..., None, None, None]
    np.testing.assert_array_equal(_mask(audio, visual), mask)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_reads_float32_inputs_under_mixed_precision(policy):
    """No autocast: a value float16 rounds to zero still marks its segment real."""
    audio, visual = _features([[1, 0, 0]], [[1, 0, 0]])
    audio[0, 1, 0] = 1e-9
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        layer = SegmentMask()
        output = keras.ops.convert_to_numpy(layer(audio, visual))
    finally:
        keras.config.set_dtype_policy(previous)
    np.testing.assert_array_equal(output, [[1, 1, 0]])
    assert output.dtype == np.float32
    assert not SegmentMask.from_config(layer.get_config()).autocast


def test_has_no_weights():
    layer = SegmentMask()
    layer(*_features([[1, 0]], [[1, 0]]))
    assert layer.weights == []
