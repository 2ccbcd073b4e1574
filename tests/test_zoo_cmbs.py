"""CMBS (ave_tf/models/zoo/cmbs.py): equivalence with the authors' PyTorch model, losses,
recipes, and a run through training, evaluation and export.

The fixtures (tests/fixtures/zoo/cmbs*.npz) come from benchmarks/make_zoo_fixtures_cmbs.py,
which runs their `supv_main_model` / `weak_main_model` on seeded weights and inputs; the
weights are regenerated here from the same seed (tests/authors_fixtures.py). No torch needed.
"""

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.data import pipeline
from ave_tf.experiments import get_experiment
from ave_tf.models.zoo.cmbs import CMBSConfig, build_cmbs_model, cmbs_weak_config
from ave_tf.models.zoo.cmbs_torch_weights import load_cmbs_torch_weights
from ave_tf.training.losses import get_loss
from tests.authors_fixtures import seeded_inputs, seeded_weights

FIXTURES = "tests/fixtures/zoo"
TOLERANCE = 1e-5


def _fixture(name):
    fixture = dict(np.load(f"{FIXTURES}/{name}.npz"))
    shapes = [tuple(int(d) for d in s.split(",") if d) for s in fixture["shapes"]]
    seed = int(fixture["seed"])
    weights = seeded_weights([str(k) for k in fixture["keys"]], shapes, seed)
    return fixture, weights, seeded_inputs(seed)


def _their_model(name):
    fixture, weights, inputs = _fixture(name)
    config = CMBSConfig() if name == "cmbs" else cmbs_weak_config()
    model = build_cmbs_model(config, use_cudnn=False)
    load_cmbs_torch_weights(model, weights)
    outputs = model({"audio": inputs["audio"], "visual": inputs["visual"]}, training=False)
    return fixture, inputs, {k: np.asarray(v) for k, v in outputs.items()}


def _batch(inputs):
    labels = tf.constant(inputs["labels"], tf.int32)
    return {
        "labels": labels,
        "mask": tf.ones_like(labels, tf.float32),
        "video_label": tf.constant(inputs["video_labels"], tf.int32),
    }


@pytest.mark.parametrize("name", ["cmbs", "cmbs_weak"])
def test_outputs_and_loss_match_the_authors_model(name):
    fixture, inputs, outputs = _their_model(name)
    names = ["attention", "event_scores", "video_class_logits"]
    names += ["background_gate", "class_activation_scores"] if name == "cmbs" else []
    for key in names:
        np.testing.assert_allclose(outputs[key], fixture[key], atol=TOLERANCE, rtol=0, err_msg=key)
    # `logits` folds their accuracy rule: its argmax is their prediction.
    np.testing.assert_array_equal(outputs["logits"].argmax(-1), fixture["predictions"])
    if name == "cmbs_weak":
        probabilities = tf.nn.softmax(outputs["video_logits"]).numpy()
        np.testing.assert_allclose(probabilities, fixture["video_probabilities"], atol=TOLERANCE)
    task = "supervised" if name == "cmbs" else "weak"
    total, count = get_loss(get_experiment(name).task.loss)(task, _batch(inputs), outputs)
    np.testing.assert_allclose(float(total / count), float(fixture["loss"]), atol=TOLERANCE)


def test_loader_rejects_a_state_dict_of_the_other_variant():
    _, weights, _ = _fixture("cmbs_weak")
    with pytest.raises(ValueError, match="shape|not in the state dict|no counterpart"):
        load_cmbs_torch_weights(build_cmbs_model(CMBSConfig(), use_cudnn=False), weights)


def test_training_accuracy_counts_segments_not_the_losss_videos():
    # CMBS's loss averages over videos; the progress/metrics.jsonl accuracy must still be a
    # fraction of the labelled segments (it read 2.3 before).
    from ave_tf.training.task_registry import make_task

    fixture, inputs, outputs = _their_model("cmbs")
    batch = _batch(inputs)
    loss, correct, count = make_task(get_experiment("cmbs")).loss_and_metrics(batch, outputs)
    labels = inputs["labels"]
    assert float(count) == float((labels >= 0).sum()) > len(labels)
    want = ((outputs["logits"].argmax(-1) == labels) & (labels >= 0)).sum()
    assert float(correct) == float(want)
    np.testing.assert_allclose(float(loss), float(fixture["loss"]), atol=TOLERANCE)


SMALL = dict(
    d_model=16,
    visual_fc_units=16,
    attention_hidden_units=8,
    encoder_feedforward_units=16,
    decoder_feedforward_units=16,
)


@pytest.mark.parametrize("weak", [False, True])
def test_a_video_alone_equals_it_padded_into_a_batch(weak):
    config = cmbs_weak_config(**SMALL) if weak else CMBSConfig(**SMALL)
    model = build_cmbs_model(config, use_cudnn=False)
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


def test_recipes_follow_their_train_scripts():
    supervised, weak = get_experiment("cmbs").validate(), get_experiment("cmbs_weak").validate()
    assert supervised.task.loss == "cmbs_supervised" and weak.task.loss == "cmbs_weak"
    assert weak.task.name == "weak" and weak.task.use_noisy and weak.model.task == "weak"
    for config, lr, milestones in ((supervised, 7e-4, [10, 20, 30]), (weak, 6e-4, [10, 20, 40])):
        trainer = config.trainer
        assert (trainer.epochs, trainer.batch_size, trainer.optimizer.global_clipnorm) == (
            200,
            64,
            0.5,
        )
        assert trainer.schedule.milestones == milestones
        assert trainer.optimizer.pytorch and trainer.optimizer.epsilon == 1e-8  # torch.optim.Adam
        rates = [config.learning_rate_at(e) for e in (0, 9, 10, milestones[2] - 1, 199)]
        assert rates == pytest.approx([lr, lr, lr / 2, lr / 4, lr / 8])
    assert config.task.val_split == "val"


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
    experiment = get_experiment("cmbs").override(
        {
            "model": SMALL,
            "data": {"data_dir": data_dir},
            "trainer": {"epochs": 1, "batch_size": 24, "verbose": False},
        }
    )
    model_dir = str(tmp_path / "run")
    trainer.train(experiment, model_dir)
    model, trained = load_trained_experiment(model_dir)
    assert trained.experiment == "cmbs" and trained.model.d_model == 16
    metrics, _ = make_task(trained).evaluate(
        model, data_dir, "test", pipeline.InputConfig(batch_size=8)
    )
    assert 0.0 <= metrics["accuracy"] <= 1.0
    path = export_saved_model(str(tmp_path / "export"), model, write_warmup=False)
    loaded = tf.saved_model.load(path)
    out = loaded.signatures["supervised"](
        audio=tf.ones([2, 5, 128]), visual=tf.ones([2, 5, 7, 7, 512])
    )
    assert out["probabilities"].shape == (2, 5, 29) and out["attention"].shape == (2, 5, 49)
    # The supervised signature carries the model's event relevance beside the usual outputs.
    want = model({"audio": tf.ones([2, 5, 128]), "visual": tf.ones([2, 5, 7, 7, 512])})
    assert out["event_scores"].shape == (2, 5)
    np.testing.assert_allclose(out["event_scores"], want["event_scores"], rtol=1e-5, atol=1e-6)
