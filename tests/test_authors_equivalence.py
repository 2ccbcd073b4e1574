"""The authors_* Keras models compute what the authors' PyTorch modules compute.

Fixtures (tests/fixtures/authors/, made by benchmarks/make_authors_fixtures.py from the authors'
att_Net, TBMRF_Net and weak att_Net in PyTorch, and their Keras AVDLN `scmm_net`) hold outputs of
their modules on seeded weights and inputs; the same weights are loaded into ours with
`models.authors_weights` and must give the same probabilities, attention maps, distances and
losses within 1e-5 (float32).
"""

import os

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from ave_tf.experiments import get_experiment
from ave_tf.models.authors_weights import (
    load_authors_avdln_weights,
    load_authors_state_dict,
    read_keras2_weights,
)
from ave_tf.models.registry import build_model
from ave_tf.training.cross_modal_losses import contrastive_loss
from ave_tf.training.losses import softmax_multilabel_soft_margin
from tests.authors_fixtures import seeded_inputs, seeded_weights

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "authors")
CASES = {
    "att_net": "authors_av_att",
    "dmrn": "authors_dmrn",
    "weak_att_net": "authors_weak_av_att",
}


def _load(fixture: str):
    with np.load(os.path.join(FIXTURES, f"{fixture}.npz"), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _weights(expected) -> dict:
    """The seeded weights a fixture was made with, keyed as the authors' module keys them."""
    shapes = [tuple(int(d) for d in s.strip("[]").split(",")) for s in expected["shapes"]]
    return seeded_weights([str(k) for k in expected["keys"]], shapes, int(expected["seed"]))


def _model_and_outputs(fixture: str):
    expected = _load(fixture)
    seed = int(expected["seed"])
    weights = _weights(expected)
    keras.utils.set_random_seed(0)
    model = build_model(get_experiment(CASES[fixture]).model, use_cudnn=False)
    used = load_authors_state_dict(model, weights)
    assert sorted(used) == sorted(weights)
    inputs = seeded_inputs(seed)
    outputs = model({"audio": inputs["audio"], "visual": inputs["visual"]}, training=False)
    return expected, inputs, {k: np.asarray(v) for k, v in outputs.items()}


def _assert_authors_loss(labels, logits, expected_loss) -> None:
    """Their MultiLabelSoftMarginLoss on the probabilities (authors_*_original_loss's loss)."""
    total, count = softmax_multilabel_soft_margin(tf.constant(labels), tf.constant(logits), 29)
    assert float(total / count) == pytest.approx(float(expected_loss), abs=1e-5)


def test_fixtures_are_small():
    for name in [*CASES, "avdln"]:
        assert os.path.getsize(os.path.join(FIXTURES, f"{name}.npz")) < 100_000


@pytest.mark.parametrize("fixture", ["att_net", "dmrn"])
def test_supervised_models_match_the_authors_modules(fixture):
    expected, inputs, outputs = _model_and_outputs(fixture)
    probabilities = tf.nn.softmax(outputs["logits"], axis=-1).numpy()
    np.testing.assert_allclose(probabilities, expected["probabilities"], atol=1e-5)
    np.testing.assert_allclose(outputs["attention"], expected["attention"], atol=1e-5)
    _assert_authors_loss(inputs["labels"], outputs["logits"], expected["loss"])


def test_weak_model_matches_the_authors_module():
    expected, inputs, outputs = _model_and_outputs("weak_att_net")
    np.testing.assert_allclose(outputs["logits"], expected["segment_logits"], atol=1e-5)
    video = tf.nn.softmax(outputs["video_logits"], axis=-1).numpy()
    np.testing.assert_allclose(video, expected["video_probabilities"], atol=1e-5)
    np.testing.assert_allclose(outputs["attention"], expected["attention"], atol=1e-5)
    _assert_authors_loss(inputs["video_labels"], outputs["video_logits"], expected["loss"])


def test_the_paper_broadcast_differs_from_the_authors_code():
    """Guards the fixture: with eq. 4's broadcast the same weights give other attention maps."""
    expected = _load("att_net")
    seed = int(expected["seed"])
    weights = _weights(expected)
    config = get_experiment("authors_av_att").override(
        {"model": {"attention_guide_axis": "hidden"}}
    )
    model = build_model(config.model, use_cudnn=False)
    load_authors_state_dict(model, weights)
    inputs = seeded_inputs(seed)
    attention = model({"audio": inputs["audio"], "visual": inputs["visual"]})["attention"]
    assert np.abs(np.asarray(attention) - expected["attention"]).max() > 1e-3


def test_a_state_dict_that_does_not_fit_is_refused():
    model = build_model(get_experiment("authors_av_att").model, use_cudnn=False)
    with pytest.raises(ValueError, match="L1.weight: shape"):
        load_authors_state_dict(model, {"L1.weight": np.zeros((3, 3)), "L1.bias": np.zeros(3)})
    with pytest.raises(ValueError, match="no place in model"):
        load_authors_state_dict(model, {"mystery.weight": np.zeros(3)})


def test_avdln_matches_the_authors_keras_network():
    expected = _load("avdln")
    weights = _weights(expected)
    model = build_model(get_experiment("authors_avdln").model)
    assert sorted(load_authors_avdln_weights(model, weights)) == sorted(weights)
    inputs = seeded_inputs(int(expected["seed"]))
    distances = model({"audio": inputs["audio"], "visual": inputs["visual"]})["distances"]
    np.testing.assert_allclose(np.reshape(distances, [-1]), expected["distances"], atol=1e-5)
    loss = contrastive_loss(expected["distances"], expected["pair_labels"], margin=1.0)
    assert float(loss) == pytest.approx(float(expected["loss"]), abs=1e-5)


def _write_keras2_weights(path, weights, layer_names):
    """A file in the layout of their cmm_model_weights.h5 (Keras 2.1.4 save_weights)."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
        for layer in layer_names:
            group = f.create_group(layer)
            names = [k for k in weights if k.startswith(f"{layer}/")]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for name in names:
                group.create_dataset(name, data=weights[name])


def test_avdln_weights_file_of_the_authors_layout_loads(tmp_path):
    weights = _weights(_load("avdln"))
    layers = ["input_1", "input_2", "dense_1", "dense_3", "leaky_re_lu_1", "dense_2", "dense_4"]
    path = str(tmp_path / "cmm_model_weights.h5")
    _write_keras2_weights(path, weights, layers)
    read = read_keras2_weights(path)
    assert sorted(read) == sorted(weights)
    model = build_model(get_experiment("authors_avdln").model)
    load_authors_avdln_weights(model, read)
    np.testing.assert_array_equal(model.get_layer("audio_fc1").kernel, weights["dense_3/kernel:0"])

    # Numbered from 5 (a session that built other layers first): the same creation order.
    shifted = {f"dense_{int(k[6]) + 4}{k[7:]}": v for k, v in weights.items()}
    load_authors_avdln_weights(model, shifted)
    np.testing.assert_array_equal(model.get_layer("visual_fc2").kernel, weights["dense_2/kernel:0"])
    with pytest.raises(ValueError, match="has 4 Dense layers; the weights have 3"):
        load_authors_avdln_weights(model, {k: v for k, v in weights.items() if "dense_4" not in k})
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("x", data=[1])
    with pytest.raises(ValueError, match="not a Keras 2 weights file"):
        read_keras2_weights(str(tmp_path / "other.h5"))


@pytest.mark.parametrize("name", ["authors_v_att", "authors_dmrfe", "authors_av_att_original_loss"])
def test_reconstructions_compute_the_authors_attention(name):
    """The recipes without an authors' module share their attention: with att_Net's attention
    weights they give att_Net's attention maps (the rest of them has no module to compare to)."""
    expected = _load("att_net")
    weights = _weights(expected)
    attention = {k: v for k, v in weights.items() if k.startswith("affine_")}
    model = build_model(get_experiment(name).model, use_cudnn=False)
    assert sorted(load_authors_state_dict(model, attention)) == sorted(attention)
    inputs = seeded_inputs(int(expected["seed"]))
    outputs = model({"audio": inputs["audio"], "visual": inputs["visual"]}, training=False)
    np.testing.assert_allclose(outputs["attention"], expected["attention"], atol=1e-5)
