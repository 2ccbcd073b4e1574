"""The model builders under any Keras backend: build, forward, gradients and `model.fit`.

No TensorFlow here: `make test-jax` runs this file (and the layer tests) under
`KERAS_BACKEND=jax` in a virtual environment without TensorFlow; `make test` runs it under
TensorFlow like every other test.
"""

import keras
import numpy as np
import pytest

from ave_tf.models.cross_modal import (
    AUDIO_CCA_LAYER,
    VISUAL_CCA_LAYER,
    CrossModalConfig,
    build_cross_modal_model,
)
from ave_tf.models.localization import build_localization_model
from tests.layer_checks import backend_gradients
from tests.model_configs import model_inputs, numpy_outputs, tiny_config

NUM_CLASSES = 29
SPATIAL_AUDIO = (3, 2, 16)

# Every layer of ave_tf.layers appears in one of these, with each temporal model and task.
LOCALIZATION_CONFIGS = [
    tiny_config(attention=True, fusion="dmrn"),
    tiny_config(task="weak", attention=True, fusion="dmrfe", temporal="bilstm"),
    tiny_config(attention=True, fusion="gmu", fusion_stage="early", temporal="ed_tcn", dropout=0.2),
    tiny_config(task="weak", fusion="gated_bilinear", fusion_stage="decision", mil_pooling="max"),
    tiny_config(fusion="mrn", fusion_stage="late", temporal="bilstm", dropout=0.2),
    tiny_config(attention=True, audio_attention=True, spatial_audio_shape=SPATIAL_AUDIO),
]
CROSS_MODAL_CONFIGS = [
    CrossModalConfig(method="avdln", hidden_size=16, embedding_dim=8),
    CrossModalConfig(method="dcca", hidden_size=16, dcca_output_dim=4),
]


def _config_id(config):
    return f"{config.task}-{config.paper_name()}"


def _localization_inputs(config, batch, steps, seed=0):
    audio_shape = config.spatial_audio_shape or (128,)
    return model_inputs(batch, steps, seed=seed, audio_shape=audio_shape)


def _assert_gradients_reach_every_weight(model, loss_of_outputs, inputs):
    loss, gradients = backend_gradients(
        model, loss_of_outputs, inputs, model.trainable_variables, training=True
    )
    assert np.isfinite(float(loss))
    for variable, gradient in zip(model.trainable_variables, gradients, strict=True):
        assert gradient is not None, f"no gradient for {variable.path}"
        gradient = keras.ops.convert_to_numpy(gradient)
        assert gradient.shape == tuple(variable.shape), variable.path
        assert np.all(np.isfinite(gradient)), f"non-finite gradient for {variable.path}"
        assert np.any(gradient != 0), f"zero gradient for {variable.path}"


@pytest.mark.parametrize("config", LOCALIZATION_CONFIGS, ids=_config_id)
def test_localization_model_forward_gradients_and_fit(config):
    keras.utils.set_random_seed(0)
    model = build_localization_model(config)
    for steps in (10, 3):
        outputs = numpy_outputs(model(_localization_inputs(config, 2, steps)))
        assert outputs["logits"].shape == (2, steps, NUM_CLASSES)
        assert outputs["attention"].shape == (2, steps, 49)
        np.testing.assert_allclose(outputs["attention"].sum(-1), 1.0, rtol=1e-5)
        if config.task == "weak":
            assert outputs["video_logits"].shape == (2, NUM_CLASSES)
        if config.audio_attention:
            assert outputs["audio_attention"].shape == (2, steps, 6)
        for name, value in outputs.items():
            assert value.dtype == np.float32, name
            assert np.all(np.isfinite(value)), name

    # Labels per segment (supervised) or per video (weak), as in training.
    rng = np.random.default_rng(1)
    inputs = _localization_inputs(config, 4, 10, seed=1)
    if config.task == "weak":
        target, labels = "video_logits", rng.integers(0, NUM_CLASSES, size=(4,))
    else:
        target, labels = "logits", rng.integers(0, NUM_CLASSES, size=(4, 10))
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    _assert_gradients_reach_every_weight(
        model, lambda outputs: cross_entropy(labels, outputs[target]), inputs
    )

    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss={target: cross_entropy})
    history = model.fit(inputs, {target: labels}, batch_size=4, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_outputs_stay_float32(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = build_localization_model(tiny_config(task="weak", attention=True, fusion="dmrfe"))
    finally:
        keras.config.set_dtype_policy(previous)
    outputs = numpy_outputs(model(model_inputs(2, 10)))
    for name, value in outputs.items():
        assert value.dtype == np.float32, name
        assert np.all(np.isfinite(value)), name
    np.testing.assert_allclose(outputs["attention"].sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("config", CROSS_MODAL_CONFIGS, ids=lambda config: config.method)
def test_cross_modal_model_forward_gradients_and_fit(config):
    keras.utils.set_random_seed(0)
    model = build_cross_modal_model(config)
    rng = np.random.default_rng(2)
    inputs = {
        "audio": rng.normal(size=(8, 3, 128)).astype("float32"),
        "visual": rng.normal(size=(8, 3, 7, 7, 512)).astype("float32"),
    }
    outputs = numpy_outputs(model(inputs))
    dim = config.embedding_dim if config.method == "avdln" else config.dcca_output_dim
    assert outputs["audio_embedding"].shape == (8, 3, dim)
    assert outputs["visual_embedding"].shape == (8, 3, dim)
    expected = np.linalg.norm(outputs["audio_embedding"] - outputs["visual_embedding"], axis=-1)
    np.testing.assert_allclose(outputs["distances"], expected, rtol=1e-5)

    # A contrastive-style target: distance 0 for "positive" segments, the margin otherwise.
    targets = np.where(rng.uniform(size=(8, 3)) < 0.5, 0.0, config.margin).astype("float32")
    _assert_gradients_reach_every_weight(
        model, lambda outputs: keras.ops.mean((outputs["distances"] - targets) ** 2), inputs
    )
    frozen = [keras.ops.convert_to_numpy(w) for w in model.non_trainable_weights]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss={"distances": "mse"})
    history = model.fit(inputs, {"distances": targets}, batch_size=8, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], losses
    # The linear CCA projection of DCCA is fitted after training, never by the optimizer.
    if config.method == "dcca":
        assert {AUDIO_CCA_LAYER, VISUAL_CCA_LAYER} <= {layer.name for layer in model.layers}
    for weight, before in zip(model.non_trainable_weights, frozen, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(weight), before)
