"""Tests of MultimodalResidualFusion (MRN)."""

import keras
import numpy as np
import pytest

from ave_tf.layers import MultimodalResidualFusion
from tests.layer_checks import numpy_dense, run_layer_checks


@pytest.mark.parametrize(
    "init_kwargs",
    [
        {"units": 5, "blocks": 2},
        {"units": None, "blocks": 1, "residual_modality": "visual"},
    ],
)
def test_layer_checks(tmp_path, init_kwargs):
    width = 5 if init_kwargs["units"] is None else 4
    run_layer_checks(
        tmp_path,
        MultimodalResidualFusion,
        init_kwargs,
        input_shapes=[(None, width), (None, 5)],
        expected_output_shapes=lambda b, t: (b, t, 5),
    )


@pytest.mark.parametrize("residual_modality", ["audio", "visual"])
def test_only_the_residual_modality_is_updated(residual_modality):
    keras.utils.set_random_seed(12)
    rng = np.random.default_rng(12)
    audio, visual = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 3, 5))
    layer = MultimodalResidualFusion(blocks=2, residual_modality=residual_modality)
    got = np.asarray(layer(audio.astype("float32"), visual.astype("float32")))
    stream, side = (audio, visual) if residual_modality == "audio" else (visual, audio)
    for stream_transform, side_transform in zip(
        layer.stream_transforms, layer.side_transforms, strict=True
    ):
        stream = stream + numpy_dense(stream_transform, stream) * numpy_dense(side_transform, side)
    np.testing.assert_allclose(got, stream, rtol=1e-5, atol=1e-5)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="residual_modality"):
        MultimodalResidualFusion(residual_modality="text")
    with pytest.raises(ValueError, match="units"):
        MultimodalResidualFusion()(np.ones((1, 2, 3), "float32"), np.ones((1, 2, 4), "float32"))
