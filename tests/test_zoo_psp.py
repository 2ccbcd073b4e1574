"""PSP (ave_tf.models.zoo.psp) computes what the authors' PyTorch code computes, and trains.

Fixtures (tests/fixtures/zoo/psp*.npz, made by benchmarks/make_zoo_fixtures_psp.py from the
authors' fully_model.psp_net and weakly_model.psp_net on seeded weights and inputs) hold their
outputs and losses; the same weights go into ours with `load_psp_torch_weights` and must give
the same outputs and loss within 1e-5 (float32). No torch needed.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from ave_tf.experiments import get_experiment
from ave_tf.models.registry import build_model
from ave_tf.models.zoo.psp import PSPConfig, load_psp_torch_weights
from ave_tf.training.losses import get_loss
from tests.authors_fixtures import seeded_inputs, seeded_weights

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "zoo")
CASES = {"psp": "psp", "psp_weak": "psp_weak"}  # fixture -> experiment


def _load(fixture: str) -> dict:
    with np.load(os.path.join(FIXTURES, f"{fixture}.npz"), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _model_and_outputs(fixture: str):
    expected = _load(fixture)
    shapes = [tuple(int(d) for d in s.strip("[]").split(",")) for s in expected["shapes"]]
    keys = [str(k) for k in expected["keys"]]
    weights = seeded_weights(keys, shapes, int(expected["seed"]))
    keras.utils.set_random_seed(0)
    model = build_model(get_experiment(CASES[fixture]).model, use_cudnn=False)
    load_psp_torch_weights(model, weights)
    inputs = seeded_inputs(int(expected["seed"]))
    outputs = model({"audio": inputs["audio"], "visual": inputs["visual"]}, training=False)
    return expected, inputs, {k: np.asarray(v) for k, v in outputs.items()}


def _batch(inputs) -> dict:
    labels = tf.constant(inputs["labels"], tf.int32)
    return {
        "labels": labels,
        "mask": tf.ones(labels.shape, tf.float32),
        "video_label": tf.constant(inputs["video_labels"], tf.int32),
    }


def test_fixtures_are_small():
    for name in CASES:
        assert os.path.getsize(os.path.join(FIXTURES, f"{name}.npz")) < 100_000


def test_supervised_psp_matches_the_authors_module():
    expected, inputs, outputs = _model_and_outputs("psp")
    assert float(expected["threshold_margin"]) > 1e-5
    np.testing.assert_allclose(outputs["logits"], expected["logits"], atol=1e-5)
    np.testing.assert_allclose(outputs["av_similarity"], expected["av_similarity"], atol=1e-5)
    np.testing.assert_allclose(outputs["attention"], expected["attention"], atol=1e-5)
    from ave_tf.experiments.zoo.psp import avps_targets

    targets = avps_targets(tf.constant(inputs["labels"], tf.int32)).numpy()
    np.testing.assert_allclose(targets, expected["avps_targets"], atol=1e-7)
    total, count = get_loss("psp_supervised")("supervised", _batch(inputs), outputs)
    assert float(total / count) == pytest.approx(float(expected["loss"]), abs=1e-5)


def test_weak_psp_matches_the_authors_module():
    expected, inputs, outputs = _model_and_outputs("psp_weak")
    assert float(expected["threshold_margin"]) > 1e-5
    np.testing.assert_allclose(outputs["logits"], expected["logits"], atol=1e-5)
    np.testing.assert_allclose(outputs["segment_scores"], expected["segment_scores"], atol=1e-5)
    np.testing.assert_allclose(outputs["attention"], expected["attention"], atol=1e-5)
    video = tf.nn.softmax(outputs["video_logits"], axis=-1).numpy()
    np.testing.assert_allclose(video, expected["video_probabilities"], atol=1e-5)
    total, count = get_loss("psp_weak")("weak", _batch(inputs), outputs)
    assert float(total / count) == pytest.approx(float(expected["loss"]), abs=1e-5)


def test_loader_rejects_keys_it_cannot_place():
    model = build_model(PSPConfig(), use_cudnn=False)
    with pytest.raises(ValueError, match="has no layer temporal_weighting"):
        load_psp_torch_weights(model, {"W3.weight": np.zeros((1, 29), np.float32)})
    with pytest.raises(ValueError, match="no place in model 'psp'"):
        load_psp_torch_weights(model, {"psp.extra": np.zeros((1,), np.float32)})
    with pytest.raises(ValueError, match="does not fit"):
        load_psp_torch_weights(model, {"L2.weight": np.zeros((28, 64), np.float32)})


def test_padding_does_not_change_real_segments():
    keras.utils.set_random_seed(1)
    model = build_model(PSPConfig(task="weak"), use_cudnn=False)
    inputs = seeded_inputs(3)
    audio, visual = inputs["audio"][:1], inputs["visual"][:1]
    short = model({"audio": audio[:, :6], "visual": visual[:, :6]})
    padded_audio, padded_visual = audio.copy(), visual.copy()
    padded_audio[:, 6:], padded_visual[:, 6:] = 0.0, 0.0
    padded = model({"audio": padded_audio, "visual": padded_visual})
    np.testing.assert_allclose(padded["logits"][:, :6], short["logits"], atol=1e-5)
    np.testing.assert_allclose(padded["video_logits"], short["video_logits"], atol=1e-5)


# Training, evaluation, export and serving through the binaries: tests/test_zoo_binaries.py.


def test_recipes_follow_their_train_scripts():
    for name, milestones in (("psp", [60, 120]), ("psp_weak", [80, 160])):
        trainer = get_experiment(name).validate().trainer
        assert (trainer.epochs, trainer.batch_size, trainer.optimizer.global_clipnorm) == (
            300,
            128,
            0.0,
        )
        assert trainer.schedule.milestones == milestones and trainer.schedule.decay_rate == 0.8
        assert trainer.optimizer.pytorch and trainer.optimizer.epsilon == 1e-8  # torch.optim.Adam
        assert get_experiment(name).data.drop_remainder  # len(train) // 128 batches per epoch
