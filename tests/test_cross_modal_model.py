"""AVDLN and DCCA model builders: config checks, outputs, eq. 9, CCA weights, .keras round trip."""

import dataclasses

import keras
import numpy as np
import pytest

from ave_tf.models.cross_modal import (
    AUDIO_CCA_LAYER,
    VISUAL_CCA_LAYER,
    CrossModalConfig,
    LinearCCAProjection,
    SegmentPairDistance,
    build_cross_modal_model,
)


def _inputs(batch=2, steps=3, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "audio": rng.normal(size=(batch, steps, 128)).astype(np.float32),
        "visual": rng.normal(size=(batch, steps, 7, 7, 512)).astype(np.float32),
    }


@pytest.mark.parametrize(
    "field, value",
    [
        ("method", "siamese"),
        ("negatives", "random"),
        ("hidden_size", 0),
        ("embedding_dim", 2.5),
        ("dcca_output_dim", -1),
        ("margin", 0.0),
        ("margin", "2"),
        ("margin", float("nan")),
        ("shifted_fraction", 1.5),
        ("dcca_reg", -1.0),
        ("leaky_relu_alpha", -0.1),
    ],
)
def test_validate_names_the_field(field, value):
    config = dataclasses.replace(CrossModalConfig(), **{field: value})
    with pytest.raises(ValueError, match=rf"CrossModalConfig\.{field}"):
        config.validate()


def test_config_dict_round_trip_and_unknown_key():
    config = CrossModalConfig(method="dcca", negatives="shifted", dcca_output_dim=8)
    assert CrossModalConfig.from_dict(config.to_dict()) == config
    assert CrossModalConfig().margin == 2.0 and CrossModalConfig().negatives == "mixed"
    with pytest.raises(ValueError, match="unknown field.*'margn'"):
        CrossModalConfig.from_dict({"margn": 1.0})


@pytest.mark.parametrize("method, dim", [("avdln", 64), ("dcca", 20)])
def test_outputs_and_distance_is_eq9(method, dim):
    model = build_cross_modal_model(CrossModalConfig(method=method))
    inputs = _inputs(steps=5)
    outputs = {k: np.asarray(v) for k, v in model(inputs).items()}
    assert outputs["audio_embedding"].shape == (2, 5, dim)
    assert outputs["visual_embedding"].shape == (2, 5, dim)
    assert outputs["distances"].shape == (2, 5)
    expected = np.linalg.norm(outputs["audio_embedding"] - outputs["visual_embedding"], axis=-1)
    np.testing.assert_allclose(outputs["distances"], expected, rtol=1e-5)
    # Segments are embedded independently: one segment alone gives the same embedding.
    single = model({k: v[:, 2:3] for k, v in inputs.items()})
    np.testing.assert_allclose(single["distances"], outputs["distances"][:, 2:3], rtol=1e-5)


def test_avdln_sizes_follow_the_authors_release():
    model = build_cross_modal_model(CrossModalConfig())
    assert model.get_layer("audio_fc1").kernel.shape == (128, 128)
    assert model.get_layer("audio_fc2").kernel.shape == (128, 64)
    assert model.get_layer("visual_fc1").kernel.shape == (512, 128)
    assert model.get_layer("visual_fc2").kernel.shape == (128, 64)


def test_visual_is_globally_average_pooled_by_the_model():
    model = build_cross_modal_model(CrossModalConfig())
    inputs = _inputs()
    shuffled = dict(inputs)
    # Permuting the 7x7 cells does not change a global average.
    cells = inputs["visual"].reshape(2, 3, 49, 512)[:, :, ::-1]
    shuffled["visual"] = cells.reshape(2, 3, 7, 7, 512)
    np.testing.assert_allclose(
        model(inputs)["distances"], model(shuffled)["distances"], rtol=1e-5, atol=1e-5
    )


def test_t_mismatch_is_a_clear_error():
    audio = keras.ops.ones((1, 3, 8))
    visual = keras.ops.ones((1, 4, 8))
    with pytest.raises(ValueError, match="audio has 3 segments but visual has 4"):
        SegmentPairDistance()(audio, visual)


def test_dcca_projection_is_non_trainable_and_settable():
    model = build_cross_modal_model(CrossModalConfig(method="dcca", dcca_output_dim=4))
    layer = model.get_layer(AUDIO_CCA_LAYER)
    assert not layer.trainable_weights and len(layer.non_trainable_weights) == 2
    names = {v.path for v in model.trainable_variables}
    assert not any("cca" in name for name in names)
    rng = np.random.default_rng(1)
    mean, projection = rng.normal(size=4), rng.normal(size=(4, 4))
    layer.set_projection(mean, projection)
    outputs = model(_inputs())
    expected = (np.asarray(outputs["audio_tower"]) - mean) @ projection
    np.testing.assert_allclose(outputs["audio_embedding"], expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="shapes"):
        layer.set_projection(mean[:3], projection)
    with pytest.raises(ValueError, match="components exceed"):
        LinearCCAProjection(5)(keras.ops.ones((2, 4)))


@pytest.mark.parametrize("method", ["avdln", "dcca"])
def test_keras_file_round_trip(tmp_path, method):
    model = build_cross_modal_model(CrossModalConfig(method=method, dcca_output_dim=6))
    if method == "dcca":
        rng = np.random.default_rng(2)
        model.get_layer(VISUAL_CCA_LAYER).set_projection(
            rng.normal(size=6), rng.normal(size=(6, 6))
        )
    path = str(tmp_path / f"{method}.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    inputs = _inputs(batch=1, steps=4)
    expected, actual = model(inputs), restored(inputs)
    assert sorted(actual) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", ["avdln", "dcca"])
def test_mixed_precision_forward(method):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_cross_modal_model(CrossModalConfig(method=method, dcca_output_dim=4))
        outputs = model(_inputs())
    finally:
        keras.config.set_dtype_policy(previous)
    distances = np.asarray(keras.ops.cast(outputs["distances"], "float32"))
    assert distances.shape == (2, 3) and np.isfinite(distances).all()
