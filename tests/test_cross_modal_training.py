"""A tiny end-to-end run: real TFRecords -> pairs -> AVDLN / DCCA training -> A2V and V2A search.

The toy videos plant a shared audio-visual signal: an event segment of class c carries an audio
prototype A_c and a visual prototype V_c (plus noise), background segments carry noise only.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from ave_tf.data import example_codec, pipeline, schema
from ave_tf.data.dataset_info import DatasetInfo, load_dataset_info
from ave_tf.data.shard_writer import DatasetWriter
from ave_tf.evaluation.cross_modal_search import cross_modal_split, evaluate_cross_modal
from ave_tf.experiments import get_experiment
from ave_tf.models.cross_modal import CrossModalConfig, build_cross_modal_model
from ave_tf.training.cross_modal_task import (
    CrossModalTask,
    distance_histograms,
    evaluate_cross_modal_split,
    finalize_model,
    make_train_step,
)
from ave_tf.training.linear_cca import fit_linear_cca
from ave_tf.training.model_io import load_trained_model
from ave_tf.training.segment_pairs import PAIR_LABELS, SegmentPairs
from ave_tf.training.trainer import train
from tests.experiment_fixtures import make_experiment

NUM_CLASSES = 3
SPLIT_SIZES = {"train_match": 12, "val_match": 6, "test_match": 10}


def _write_toy_dataset(output_dir: str, seed: int = 0) -> float:
    """Writes the toy dataset; returns the chance accuracy of its test queries."""
    rng = np.random.default_rng(seed)
    audio_prototypes = rng.normal(size=(NUM_CLASSES, schema.AUDIO_DIM))
    visual_prototypes = rng.normal(size=(NUM_CLASSES, schema.VISUAL_CHANNELS))
    chance = []
    with DatasetWriter(output_dir, shard_bytes=2 << 20) as writer:
        for split, count in SPLIT_SIZES.items():
            for i in range(count):
                steps = 10 if i % 3 else 8  # mixed lengths exercise padding
                label = i % NUM_CLASSES
                length = int(rng.integers(2, steps - 1))
                start = int(rng.integers(0, steps - length + 1))
                audio = rng.normal(size=(steps, schema.AUDIO_DIM)) * 0.5
                visual = rng.normal(size=(steps, *schema.VISUAL_SHAPE)) * 0.5
                labels = np.full([steps], schema.BACKGROUND_CLASS)
                labels[start : start + length] = label
                audio[start : start + length] += audio_prototypes[label]
                visual[start : start + length] += visual_prototypes[label]
                if split == "test_match":
                    chance.append(1.0 / (steps - length + 1))
                record = example_codec.encode_video(
                    video_id=f"{split}_{i}",
                    audio=audio,
                    visual=visual,
                    labels=labels,
                    class_index=label,
                    class_name=f"class{label}",
                    event_start=start,
                    event_end=start + length,
                    source="test",
                    visual_dtype="float16",
                )
                writer.write(split, record, steps)
        writer.commit(
            DatasetInfo(
                name="toy",
                source="test",
                synthetic=True,
                description="planted audio-visual prototypes",
                class_names=[],
                splits={},
                visual_dtype="float16",
            )
        )
    return float(np.mean(chance))


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("cross_modal_toy"))
    chance = _write_toy_dataset(data_dir)
    splits = load_dataset_info(data_dir).splits
    test = pipeline.make_dataset(
        data_dir, cross_modal_split(splits, "test"), pipeline.InputConfig(batch_size=5)
    )
    train_once = pipeline.make_dataset(
        data_dir, cross_modal_split(splits, "train"), pipeline.InputConfig(batch_size=6)
    )
    return {"data_dir": data_dir, "test": test, "train_once": train_once, "chance": chance}


def _train(config, data_dir, steps, learning_rate):
    """Trains a fresh model; a fresh, seeded dataset keeps each test independent of the others."""
    train = pipeline.make_dataset(
        data_dir,
        "train_match",
        pipeline.InputConfig(batch_size=6, shuffle=True, seed=0, repeat=True),
    )
    keras.utils.set_random_seed(0)
    model = build_cross_modal_model(config)
    step = make_train_step(model, keras.optimizers.Adam(learning_rate), config)
    losses, histograms = [], None
    for i, batch in enumerate(train.take(steps)):
        loss, distances, y = step(batch, tf.constant([0, i], tf.int32))
        losses.append(float(loss))
        histograms = distance_histograms(distances, y)
    return model, losses, histograms


def test_avdln_learns_to_localize(toy_data):
    config = CrossModalConfig(method="avdln", hidden_size=32, embedding_dim=16)
    untrained = build_cross_modal_model(config)
    before = evaluate_cross_modal(untrained, toy_data["test"])
    model, losses, histograms = _train(config, toy_data["data_dir"], steps=30, learning_rate=3e-3)

    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    positive = histograms["distance/positive"].numpy()
    negative = histograms["distance/negative"].numpy()
    assert positive.size and negative.size
    assert positive.mean() < negative.mean()
    after = evaluate_cross_modal(model, toy_data["test"])
    assert after["videos"] == SPLIT_SIZES["test_match"]
    assert after["a2v"] >= 0.7 > toy_data["chance"] + 0.3
    assert after["v2a"] >= 0.7
    assert after["a2v"] + after["v2a"] > before["a2v"] + before["v2a"]


def test_dcca_learns_to_localize_and_carries_its_cca(toy_data, tmp_path):
    config = CrossModalConfig(method="dcca", hidden_size=32, dcca_output_dim=2)
    model, losses, _ = _train(config, toy_data["data_dir"], steps=30, learning_rate=3e-3)
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="needs a DCCA model"):
        fit_linear_cca(model, toy_data["train_once"], CrossModalConfig())

    facts = finalize_model(model, config, toy_data["train_once"])
    correlations = facts["canonical_correlations"]
    assert len(correlations) == 2 and correlations[-1] > 0.9
    assert correlations == sorted(correlations, reverse=True)
    metrics = evaluate_cross_modal(model, toy_data["test"])
    assert metrics["a2v"] >= 0.6 and metrics["v2a"] >= 0.6
    assert metrics["a2v"] > toy_data["chance"] + 0.2

    path = str(tmp_path / "dcca.keras")
    model.save(path)
    assert evaluate_cross_modal(keras.models.load_model(path), toy_data["test"]) == metrics


def test_avdln_finalize_is_a_no_op(toy_data):
    model = build_cross_modal_model(CrossModalConfig(hidden_size=8, embedding_dim=4))
    weights = [w.copy() for w in model.get_weights()]
    assert finalize_model(model, CrossModalConfig(), toy_data["train_once"]) == {}
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.slow
def test_generic_trainer_saves_dcca_with_its_cca(toy_data, tmp_path):
    data_dir, model_dir = toy_data["data_dir"], str(tmp_path / "run")
    config = CrossModalConfig(method="dcca", hidden_size=32, dcca_output_dim=2)
    task = CrossModalTask(config, seed=0, data_dir=data_dir)
    experiment = make_experiment(
        config,
        data_dir,
        task="cross_modal",
        trainer={"epochs": 2, "batch_size": 6, "optimizer": {"learning_rate": 3e-3}},
    )
    experiment = experiment.override(
        {
            "task": {"val_split": "val_match"},
            "trainer": {"log_attention_videos": 0, "verbose": False},
        }
    )
    result = train(experiment, model_dir, task=task)
    assert result.best_metric > 0.5

    model, task_name, loaded_config = load_trained_model(model_dir)
    assert task_name == "cross_modal" and loaded_config == config
    # The best weights carry the fitted CCA: evaluation reproduces the selected epoch's number.
    metrics = evaluate_cross_modal_split(model, data_dir, "val", pipeline.InputConfig(batch_size=4))
    assert metrics["evaluated_split"] == "val_match"
    assert (metrics["a2v"] + metrics["v2a"]) / 2 == pytest.approx(result.best_metric)


def _run_binary(name, *flags):
    command = [sys.executable, "-c", f"from ave_tf.bin.{name} import run; run()", *flags]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_ave_train_and_ave_eval_binaries(toy_data, tmp_path):
    data_dir, model_dir = toy_data["data_dir"], str(tmp_path / "run")
    output = str(tmp_path / "eval.json")
    trained = _run_binary(
        "ave_train",
        f"--data_dir={data_dir}",
        f"--model_dir={model_dir}",
        "--task=cross_modal",
        "--epochs=2",
        "--batch_size=6",
        "--learning_rate=3e-3",
        "--val_split=val_match",
        "--noprogress",
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    evaluated = _run_binary(
        "ave_eval", f"--data_dir={data_dir}", f"--model_dir={model_dir}", f"--output={output}"
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    with open(output, encoding="utf-8") as f:
        result = json.load(f)
    assert result["task"] == "cross_modal" and result["evaluated_split"] == "test_match"
    assert 0.0 <= result["a2v"] <= 1.0 and 0.0 <= result["v2a"] <= 1.0
    assert result["videos"] == SPLIT_SIZES["test_match"]


def test_segment_pairs_are_every_labelled_segment_with_its_pooled_visual(toy_data):
    pairs = SegmentPairs.read(toy_data["train_once"])
    audio, visual, labels = [], [], []
    for batch in toy_data["train_once"]:
        real = (batch["mask"].numpy() > 0) & (batch["labels"].numpy() >= 0)
        audio.append(batch["audio"].numpy()[real])
        visual.append(batch["visual"].numpy().mean(axis=(2, 3))[real])
        labels.append(batch["labels"].numpy()[real] != schema.BACKGROUND_CLASS)
    np.testing.assert_array_equal(pairs.audio, np.concatenate(audio))
    np.testing.assert_allclose(pairs.visual, np.concatenate(visual), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(pairs.labels, np.concatenate(labels).astype(np.float32))
    assert 0 < pairs.labels.mean() < 1 and pairs.steps(8) == -(-pairs.size // 8)

    first, again = (list(pairs.dataset(8, seed=3).as_numpy_iterator()) for _ in range(2))
    other = list(pairs.dataset(8, seed=4).as_numpy_iterator())
    assert [b["visual"].shape[1:] for b in first[:1]] == [(1, *schema.VISUAL_SHAPE)]
    assert sum(len(b[PAIR_LABELS]) for b in first) == pairs.size
    np.testing.assert_array_equal(first[0]["audio"], again[0]["audio"])  # seeded
    assert not np.array_equal(first[0]["audio"], other[0]["audio"])  # reshuffled per seed
    # The model's global average of the repeated vector is the vector.
    model = build_cross_modal_model(CrossModalConfig(hidden_size=8, embedding_dim=4))
    pooled, _ = model.get_layer("visual_global_pool")(first[0]["visual"])
    np.testing.assert_allclose(pooled[:, 0], first[0]["visual"][:, 0, 0, 0], rtol=1e-6)


def test_authors_avdln_trains_on_shuffled_segment_pairs(toy_data, tmp_path):
    data_dir = toy_data["data_dir"]
    experiment = get_experiment("authors_avdln").override(
        {
            "data": {"data_dir": data_dir},
            "task": {"val_split": "val_match"},
            "model": {"hidden_size": 32, "embedding_dim": 16},
            "trainer": {"epochs": 3, "verbose": False},
        }
    )
    results = []
    for run in ("a", "b"):
        train(experiment, str(tmp_path / run))
        with open(tmp_path / run / "metrics.jsonl", encoding="utf-8") as f:
            results.append([json.loads(line) for line in f])
    first = results[0][0]["train"]
    assert first["pairs_per_second"] > 0 and "videos_per_second" not in first
    assert [r["val"] for r in results[0]] == [r["val"] for r in results[1]]  # --seed reproduces
    assert results[0][-1]["train"]["loss"] < first["loss"]
    assert results[0][-1]["val"]["localization_accuracy"] > toy_data["chance"] + 0.2


def test_shuffled_segments_need_background_negatives():
    with pytest.raises(ValueError, match="needs negatives='background'"):
        CrossModalConfig(train_pairs="shuffled_segments").validate()
    with pytest.raises(ValueError, match="train_pairs must be one of"):
        CrossModalConfig(train_pairs="segments").validate()
