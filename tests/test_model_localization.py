"""Tests of ModelConfig and build_localization_model: validation, outputs, save/load, CPU."""

import importlib
import json
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from ave_tf.models.config import ModelConfig
from ave_tf.models.localization import build_localization_model
from tests.model_configs import model_inputs, numpy_outputs, tiny_config

NUM_CLASSES = 29


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"modality": "audio", "attention": True}, "attention"),
        ({"modality": "audio", "fusion": "dmrn"}, "fusion"),
        ({"modality": "visual", "fusion_stage": "early"}, "fusion_stage"),
        ({"fusion": "dmrfe", "fusion_stage": "early"}, "fusion_stage"),
        ({"fusion": "dmrfe", "fusion_stage": "decision"}, "fusion_stage"),
        ({"fusion": "sum"}, "fusion"),
        ({"fusion_stage": "middle"}, "fusion_stage"),
        ({"task": "cross_modal"}, "task"),
        ({"modality": "text"}, "modality"),
        ({"temporal": "gru"}, "temporal"),
        ({"mil_pooling": "median"}, "mil_pooling"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"dmrn_blocks": 0}, "dmrn_blocks"),
        ({"dropout": 1.0}, "dropout"),
        ({"attention": "yes"}, "attention"),
        ({"fusion_dim": -1}, "fusion_dim"),
        ({"tcn_filters": ()}, "tcn_filters"),
        ({"audio_attention": True}, "spatial_audio_shape"),
        ({"audio_attention": True, "modality": "visual"}, "audio_attention"),
        ({"spatial_audio_shape": (6, 4)}, "spatial_audio_shape"),
    ],
)
def test_invalid_configurations_name_the_field(overrides, field):
    config = ModelConfig(**overrides)
    with pytest.raises(ValueError, match=rf"ModelConfig\.{field}\b"):
        config.validate()
    with pytest.raises(ValueError, match=rf"ModelConfig\.{field}\b"):
        build_localization_model(config)


def test_single_modality_models_accept_the_fusion_defaults():
    for modality in ("audio", "visual"):
        ModelConfig(modality=modality).validate()


def test_dict_round_trip_through_json():
    config = ModelConfig(
        task="weak",
        attention=True,
        fusion="dmrn",
        tcn_filters=(4, 5),
        spatial_audio_shape=(6, 4, 8),
    )
    restored = ModelConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config
    with pytest.raises(ValueError, match="unknown field.*'colour'"):
        ModelConfig.from_dict({**config.to_dict(), "colour": "red"})


@pytest.mark.parametrize(
    "overrides, name",
    [
        ({"modality": "audio"}, "A"),
        ({"modality": "visual"}, "V"),
        ({"modality": "visual", "attention": True}, "V-att"),
        ({}, "A+V"),
        ({"attention": True}, "A+V-att"),
        ({"task": "weak", "attention": True}, "W-A+V-att"),
        ({"attention": True, "fusion": "dmrn"}, "A+V-att (late dmrn)"),
        ({"modality": "visual", "temporal": "ed_tcn"}, "V [ed_tcn]"),
    ],
)
def test_paper_names(overrides, name):
    assert ModelConfig(**overrides).paper_name() == name


def test_default_sizes_follow_the_paper():
    model = build_localization_model(ModelConfig(attention=True, fusion="dmrn"))
    assert model.get_layer("audio_temporal").units == 128
    attention = model.get_layer("visual_attention")
    assert attention.cell_projection.kernel.shape == (512, 512)
    assert attention.cell_hidden.kernel.shape == (512, 49)
    assert model.get_layer("fusion").residual_blocks[0].audio_projection.kernel.shape == (128, 128)
    bidirectional = build_localization_model(ModelConfig(temporal="bilstm"))
    assert bidirectional.get_layer("audio_temporal").output.shape == (None, None, 256)


def _graph_ops(model, inputs):
    """Op types of the traced forward graph, including its nested functions (loop bodies)."""
    graph = tf.function(lambda x: model(x)).get_concrete_function(inputs).graph
    ops = {op.type for op in graph.get_operations()}
    for function_def in graph.as_graph_def().library.function:
        ops.update(node.op for node in function_def.node_def)
    return ops


def _has_cudnn(ops):
    return any(op.startswith("CudnnRNN") for op in ops)


@pytest.mark.parametrize("temporal", ["lstm", "bilstm"])
def test_use_cudnn_false_has_the_same_weights_and_outputs(temporal):
    config = tiny_config(attention=True, fusion="dmrn", temporal=temporal)
    keras.utils.set_random_seed(1)
    default = build_localization_model(config)
    cpu = build_localization_model(config, use_cudnn=False)
    assert [(w.path, w.shape) for w in default.weights] == [(w.path, w.shape) for w in cpu.weights]
    cpu.set_weights(default.get_weights())
    inputs = model_inputs(2, 10)
    for name, value in numpy_outputs(default(inputs)).items():
        np.testing.assert_array_equal(numpy_outputs(cpu(inputs))[name], value)


def test_use_cudnn_false_keeps_cudnn_out_of_a_gpu_trace(monkeypatch):
    """Traced as if a GPU were visible: "auto" picks CudnnRNN, False never does.

    The graph is only traced, never run, so this works on a CPU-only machine.
    """
    tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
    if not hasattr(tf_rnn, "_is_gpu_available"):
        pytest.skip("this Keras version decides cuDNN use differently")
    monkeypatch.setattr(tf_rnn, "_is_gpu_available", lambda: True)
    config = tiny_config(attention=True, fusion="dmrn", temporal="bilstm")
    inputs = {name: tf.constant(value) for name, value in model_inputs(2, 10).items()}
    assert _has_cudnn(_graph_ops(build_localization_model(config), inputs))
    assert not _has_cudnn(_graph_ops(build_localization_model(config, use_cudnn=False), inputs))


def test_keras_file_round_trip(tmp_path):
    config = tiny_config(task="weak", attention=True, fusion="dmrfe", temporal="bilstm")
    model = build_localization_model(config)
    path = str(tmp_path / "model.keras")
    model.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = keras.saving.load_model(path)
    assert not [str(w.message) for w in caught if "build" in str(w.message).lower()]
    inputs = model_inputs(2, 7, seed=3)
    want = numpy_outputs(model(inputs))
    for name, value in numpy_outputs(loaded(inputs)).items():
        np.testing.assert_array_equal(value, want[name])


def test_weights_file_loads_into_a_cpu_rebuild(tmp_path):
    """The training flow: best.weights.h5 from one build, loaded into a use_cudnn=False one."""
    config = tiny_config(attention=True, fusion="gmu", fusion_stage="early")
    model = build_localization_model(config)
    path = str(tmp_path / "best.weights.h5")
    model.save_weights(path)
    rebuilt = build_localization_model(ModelConfig.from_dict(config.to_dict()), use_cudnn=False)
    rebuilt.load_weights(path)
    inputs = model_inputs(1, 10, seed=4)
    np.testing.assert_array_equal(
        numpy_outputs(rebuilt(inputs))["logits"], numpy_outputs(model(inputs))["logits"]
    )


def test_training_steps_lower_the_loss():
    keras.utils.set_random_seed(2)
    model = build_localization_model(tiny_config(attention=True, fusion="dmrn"))
    inputs = model_inputs(4, 10, seed=5)
    labels = np.random.default_rng(5).integers(0, NUM_CLASSES, size=(4, 10))
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(1e-2)
    losses = []
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = cross_entropy(labels, model(inputs, training=True)["logits"])
        gradients = tape.gradient(loss, model.trainable_weights)
        assert all(g is not None for g in gradients)
        optimizer.apply(gradients, model.trainable_weights)
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_spatial_audio_models():
    """Supplementary section 3.2: A'-att, A'+V, A'+V-co-att on random spatial audio maps."""
    spatial = (3, 2, 16)
    inputs = model_inputs(2, 10, audio_shape=spatial)
    for overrides, has_audio_map in (
        ({"modality": "audio", "audio_attention": True}, True),
        ({"attention": True}, False),
        ({"attention": True, "audio_attention": True}, True),
    ):
        config = tiny_config(spatial_audio_shape=spatial, **overrides)
        outputs = numpy_outputs(build_localization_model(config)(inputs))
        assert outputs["logits"].shape == (2, 10, NUM_CLASSES)
        assert ("audio_attention" in outputs) == has_audio_map, config.paper_name()
        if has_audio_map:
            assert outputs["audio_attention"].shape == (2, 10, 6)
            np.testing.assert_allclose(outputs["audio_attention"].sum(-1), 1.0, rtol=1e-5)
    assert (
        tiny_config(attention=True, audio_attention=True, spatial_audio_shape=spatial).paper_name()
        == "A'+V-co-att"
    )
