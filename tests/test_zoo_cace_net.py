"""CACE-Net (ave_tf/models/zoo/cace_net.py): equivalence with the authors' PyTorch model, loss,
recipe, and a run through training, evaluation and export.

The fixture (tests/fixtures/zoo/cace_net.npz) comes from benchmarks/make_zoo_fixtures_cace_net.py,
which runs their `supv_main_model` (Co-Guide, contrastive) on seeded weights and inputs; the
weights are regenerated here from the same seed (tests/authors_fixtures.py). No torch needed.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ave_tf.data import pipeline
from ave_tf.experiments import get_experiment
from ave_tf.models.zoo.cace_net import CACENetConfig, build_cace_net_model
from ave_tf.models.zoo.cace_net_torch_weights import load_cace_net_torch_weights
from ave_tf.training.losses import get_loss
from tests.authors_fixtures import seeded_inputs, seeded_weights

FIXTURE = "tests/fixtures/zoo/cace_net.npz"
TOLERANCE = 1e-5


def _fixture():
    fixture = dict(np.load(FIXTURE))
    shapes = [tuple(int(d) for d in s.split(",") if d) for s in fixture["shapes"]]
    seed = int(fixture["seed"])
    weights = seeded_weights([str(k) for k in fixture["keys"]], shapes, seed)
    return fixture, weights, seeded_inputs(seed)


def _batch(inputs):
    labels = tf.constant(inputs["labels"], tf.int32)
    return {"labels": labels, "mask": tf.ones_like(labels, tf.float32)}


def test_outputs_and_loss_match_the_authors_model():
    fixture, weights, inputs = _fixture()
    model = build_cace_net_model(CACENetConfig(), use_cudnn=False)
    load_cace_net_torch_weights(model, weights)
    outputs = model({"audio": inputs["audio"], "visual": inputs["visual"]}, training=False)
    outputs = {k: np.asarray(v) for k, v in outputs.items()}
    names = ["attention", "event_scores", "video_class_logits", "background_gate"]
    names += ["class_activation_scores", "contrastive_query", "contrastive_key"]
    for key in names:
        np.testing.assert_allclose(outputs[key], fixture[key], atol=TOLERANCE, rtol=0, err_msg=key)
    # `logits` folds their accuracy rule: its argmax is their prediction.
    np.testing.assert_array_equal(outputs["logits"].argmax(-1), fixture["predictions"])
    # Their training loss used a noisy key (their data_augmentation with a stored noise).
    outputs["contrastive_key"] = fixture["noisy_key"]
    loss = get_loss(get_experiment("cace_net").task.loss)
    total, count = loss("supervised", _batch(inputs), outputs)
    np.testing.assert_allclose(float(total / count), float(fixture["loss"]), atol=TOLERANCE)


def test_loader_rejects_a_cmbs_state_dict():
    fixture, weights, _ = _fixture()
    weights = {k: v for k, v in weights.items() if "localize_module.encoder_q" not in k}
    with pytest.raises(ValueError, match="not in the state dict"):
        load_cace_net_torch_weights(build_cace_net_model(use_cudnn=False), weights)


def test_contrastive_term_ignores_padded_segments():
    from ave_tf.experiments.zoo.cace_net import supervised_contrastive_loss

    rng = np.random.default_rng(0)
    q, k = (tf.math.l2_normalize(rng.normal(size=(1, 6, 4)), -1) for _ in range(2))
    is_event = tf.constant([[1, 1, 0, 1, 0, 1]], tf.float32)
    alone = supervised_contrastive_loss(q[:, :4], k[:, :4], is_event[:, :4], tf.ones((1, 4)))
    valid = tf.constant([[1, 1, 1, 1, 0, 0]], tf.float32)
    padded = supervised_contrastive_loss(q, k, is_event * valid, valid)
    np.testing.assert_allclose(padded.numpy(), alone.numpy(), rtol=1e-6)


SMALL = dict(
    d_model=16,
    visual_fc_units=16,
    attention_hidden_units=8,
    encoder_feedforward_units=16,
    decoder_feedforward_units=16,
)


def test_a_video_alone_equals_it_padded_into_a_batch():
    model = build_cace_net_model(CACENetConfig(**SMALL), use_cudnn=False)
    rng = np.random.default_rng(7)
    audio = np.maximum(rng.normal(size=(2, 10, 128)), 0).astype("float32")
    visual = np.maximum(rng.normal(size=(2, 10, 7, 7, 512)), 0).astype("float32")
    audio[1, 6:], visual[1, 6:] = 0.0, 0.0  # video 1 has 6 segments
    batch = model({"audio": audio, "visual": visual})
    alone = model({"audio": audio[1:, :6], "visual": visual[1:, :6]})
    for key, value in alone.items():
        got = np.asarray(batch[key])[1:]
        got = got[:, :6] if got.ndim > 2 or key in ("event_scores", "background_gate") else got
        np.testing.assert_allclose(got, np.asarray(value), atol=1e-5, err_msg=key)


def test_contrastive_switch_gates_the_enhancement_and_the_term():
    """Before epoch n_epoch / 8 their head sees the fused segments alone and their loss has no
    contrastive term; from then on both."""
    from ave_tf.experiments.zoo.cmbs import cmbs_supervised_loss
    from ave_tf.layers.epoch_switch import set_training_epoch

    keras.utils.set_random_seed(2)
    model = build_cace_net_model(CACENetConfig(**SMALL), use_cudnn=False)
    plain = build_cace_net_model(CACENetConfig(**SMALL, contrastive=False), use_cudnn=False)
    by_path = {w.path: w for w in model.weights}
    for weight in plain.weights:
        weight.assign(by_path[weight.path])
    rng = np.random.default_rng(3)
    inputs = {
        "audio": np.maximum(rng.normal(size=(2, 10, 128)), 0).astype("float32"),
        "visual": np.maximum(rng.normal(size=(2, 10, 7, 7, 512)), 0).astype("float32"),
    }
    batch = _batch({"labels": rng.integers(0, 29, size=(2, 10))})
    loss = get_loss(get_experiment("cace_net").task.loss)
    without = plain(inputs)
    np.testing.assert_array_equal(np.asarray(without["contrastive_switch"]), [0.0, 0.0])
    for epoch, on in ((0, False), (1, True), (7, True)):  # 8 epochs: off in the first only
        set_training_epoch(model, epoch, 8)
        outputs = model(inputs)
        np.testing.assert_array_equal(np.asarray(outputs["contrastive_switch"]), [float(on)] * 2)
        same = np.allclose(outputs["event_scores"], without["event_scores"], atol=1e-6)
        assert same != on
        total, _ = loss("supervised", batch, outputs)
        cmbs_total, _ = cmbs_supervised_loss("supervised", batch, outputs)
        assert bool(abs(float(total) - float(cmbs_total)) > 1e-3) == on


def test_recipe_follows_their_train_script():
    config = get_experiment("cace_net").validate()
    assert config.task.loss == "cace_net_supervised" and config.task.val_split == "val"
    trainer = config.trainer
    assert (trainer.epochs, trainer.batch_size, trainer.optimizer.global_clipnorm) == (200, 64, 0.5)
    assert trainer.optimizer.pytorch and trainer.optimizer.epsilon == 1e-8  # torch.optim.Adam
    assert (config.model.psai, config.model.contrastive_weight) == (0.3, 0.6)
    assert config.model.contrastive_start_fraction == 1 / 8  # `epoch >= args.n_epoch / 8`
    rates = [config.learning_rate_at(e) for e in (0, 9, 10, 29, 199)]
    assert rates == pytest.approx([7e-4, 7e-4, 3.5e-4, 1.75e-4, 8.75e-5])


# ~1 min: in `make test-slow` (as is its run through the binaries, tests/test_zoo_binaries.py);
# `make test` runs that path with PSP and this model's equivalence and padding tests.
@pytest.mark.slow
def test_trains_evaluates_and_exports(tmp_path):
    from ave_tf.export.exporter import export_saved_model
    from ave_tf.training import trainer
    from ave_tf.training.model_io import load_trained_experiment
    from ave_tf.training.task_registry import make_task
    from tests.tiny_dataset import write_tiny_dataset

    data_dir = write_tiny_dataset(str(tmp_path / "data"))
    experiment = get_experiment("cace_net").override(
        {
            "model": {**SMALL, "contrastive_start_fraction": 1.0},  # off in every epoch
            "data": {"data_dir": data_dir},
            "trainer": {
                "epochs": 1,
                "batch_size": 8,
                "max_steps_per_epoch": 2,
                "verbose": False,
            },
        }
    )
    model_dir = str(tmp_path / "run")
    trainer.train(experiment, model_dir)
    model, trained = load_trained_experiment(model_dir)
    assert trained.experiment == "cace_net" and trained.model.d_model == 16
    # The trainer set the switch before the epoch; the best weights keep that state.
    assert float(model.get_layer("contrastive_switch").state.numpy()) == 0.0
    metrics, _ = make_task(trained).evaluate(
        model, data_dir, "test", pipeline.InputConfig(batch_size=8)
    )
    assert 0.0 <= metrics["accuracy"] <= 1.0
    path = export_saved_model(str(tmp_path / "export"), model, write_warmup=False)
    out = tf.saved_model.load(path).signatures["supervised"](
        audio=tf.ones([2, 5, 128]), visual=tf.ones([2, 5, 7, 7, 512])
    )
    assert out["probabilities"].shape == (2, 5, 29) and out["attention"].shape == (2, 5, 49)
    want = model({"audio": tf.ones([2, 5, 128]), "visual": tf.ones([2, 5, 7, 7, 512])})
    np.testing.assert_allclose(out["event_scores"], want["event_scores"], rtol=1e-5, atol=1e-6)
