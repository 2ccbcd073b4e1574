"""CrossModalTask, the trainer's view of the cross-modal task: pairs, loss, splits, validation."""

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.models.cross_modal import CrossModalConfig, build_cross_modal_model
from ave_tf.training.cross_modal_task import PAIR_LABELS, CrossModalTask

BG = 28


def _batch(ids=("a", "b")):
    rng = np.random.default_rng(0)
    labels = np.array([[BG, 2, 2, BG, 2], [4, 4, BG, BG, BG]], np.int32)
    return {
        "audio": tf.constant(rng.normal(size=(2, 5, 128)), tf.float32),
        "visual": tf.constant(rng.normal(size=(2, 5, 7, 7, 512)), tf.float32),
        "labels": tf.constant(labels),
        "mask": tf.ones((2, 5)),
        "video_id": tf.constant(list(ids)),
        "event_start": tf.constant([1, 0]),
        "event_end": tf.constant([3, 2]),
        "num_segments": tf.constant([5, 5]),
    }


def test_select_builds_pairs_seeded_by_the_batch():
    task = CrossModalTask(CrossModalConfig(), seed=3)
    pairs = task.select(_batch())
    assert sorted(pairs) == ["audio", PAIR_LABELS, "visual"]
    # 5 positives, 5 background pairs, 5 shifted or cross-video negatives ("mixed").
    np.testing.assert_array_equal(pairs[PAIR_LABELS], [1] * 5 + [0] * 10)
    assert pairs["audio"].shape == (15, 1, 128) and pairs["visual"].shape == (15, 1, 7, 7, 512)
    np.testing.assert_array_equal(task.select(_batch())["visual"], pairs["visual"])
    # Graph mode (as inside tf.data) gives the same pairs.
    graph = tf.data.Dataset.from_tensors(_batch()).map(task.select)
    np.testing.assert_array_equal(next(iter(graph))["visual"], pairs["visual"])
    others = [task.select(_batch(ids=(f"x{i}", "b")))["visual"] for i in range(4)]
    assert any(not np.array_equal(o, pairs["visual"]) for o in others)


def test_avdln_loss_and_pair_accuracy():
    task = CrossModalTask(CrossModalConfig(margin=2.0))
    batch = {PAIR_LABELS: tf.constant([1.0, 0.0, 0.0])}
    outputs = {"distances": tf.constant([[0.5], [3.0], [0.5]])}
    loss, correct, count = task.loss_and_metrics(batch, outputs)
    # (0.5^2 + 0 + (2 - 0.5)^2) / 3; threshold margin / 2 = 1: the last pair is wrong.
    assert float(loss) == pytest.approx(2.5 / 3)
    assert float(correct) == 2 and float(count) == 3


def test_dcca_loss_uses_positive_pairs_only():
    task = CrossModalTask(CrossModalConfig(method="dcca", dcca_output_dim=2, dcca_reg=1e-4))
    rng = np.random.default_rng(1)
    tower = rng.normal(size=(40, 1, 2)).astype(np.float32)
    noise = rng.normal(size=(40, 1, 2)).astype(np.float32)
    y = np.r_[np.ones(20), np.zeros(20)].astype(np.float32)
    visual = np.where(y[:, None, None] > 0, 2 * tower, noise)
    outputs = {"audio_tower": tower, "visual_tower": visual, "distances": np.zeros((40, 1))}
    loss, correct, count = task.loss_and_metrics({PAIR_LABELS: y}, outputs)
    assert float(loss) == pytest.approx(-2.0, abs=0.01)
    assert float(correct) == 0 and float(count) == 40


def test_match_splits_when_present():
    task = CrossModalTask(CrossModalConfig())
    assert task.train_splits(["train", "val", "test", "train_match"]) == ["train_match"]
    assert task.train_splits(["train", "val", "test"]) == ["train"]
    assert task.validation_split(["val", "val_match"]) == "val_match"
    assert task.selection_mode == "max"
    assert task.build_model().name == "avdln"


def test_invalid_config_is_rejected():
    with pytest.raises(ValueError, match="CrossModalConfig.negatives"):
        CrossModalTask(CrossModalConfig(negatives="all"))


def test_validate_reports_accuracy_loss_and_histograms():
    config = CrossModalConfig(hidden_size=8, embedding_dim=4)
    task = CrossModalTask(config)
    metrics, sample = task.validate(build_cross_modal_model(config), [_batch()])
    assert sample is None
    assert metrics["videos"] == 2
    assert metrics["localization_accuracy"] == pytest.approx((metrics["a2v"] + metrics["v2a"]) / 2)
    assert np.isfinite(metrics["loss"])
    assert len(metrics["histograms"]["distance/positive"]) == 5
    assert len(metrics["histograms"]["distance/negative"]) == 10
