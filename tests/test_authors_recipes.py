"""The authors_* experiments: their settings, and the trainer features they need."""

import json
import os

import numpy as np
import pytest

from ave_tf.experiments import experiment_names, get_experiment
from ave_tf.training.localization_task import LocalizationTask
from ave_tf.training.trainer import train
from tests.tiny_dataset import write_tiny_dataset

AUTHORS = (
    "authors_a", "authors_v", "authors_v_att", "authors_av", "authors_av_att",
    "authors_av_att_original_loss", "authors_dmrn", "authors_dmrfe", "authors_weak_av_att",
    "authors_avdln",
)  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(str(tmp_path_factory.mktemp("tiny")))


def test_every_contract_name_is_registered_with_the_authors_settings():
    assert set(AUTHORS) <= set(experiment_names(["authors"]))
    for name in AUTHORS:
        experiment = get_experiment(name).validate()
        trainer = experiment.trainer
        if name == "authors_avdln":
            assert (experiment.model.negatives, experiment.model.margin) == ("background", 2.0)
            assert (trainer.epochs, trainer.optimizer.epsilon) == (20, 1e-7)
            assert (experiment.model.train_pairs, trainer.batch_size) == ("shuffled_segments", 8)
            continue
        model = experiment.model
        assert (model.temporal, model.hidden_size, model.attention_guide_axis) == (
            "bilstm",
            128,
            "cells",
        )
        assert (trainer.batch_size, trainer.optimizer.epsilon) == (64, 1e-8)
        assert (trainer.schedule.decay_steps, trainer.schedule.decay_rate) == (15000, 0.1)
        assert trainer.validate_every == 5
        assert trainer.epochs == (250 if "weak" in name else 300)
    assert get_experiment("authors_av_att").model.classifier_hidden_sizes == (64,)
    assert get_experiment("authors_weak_av_att").model.mil_pooling == "max"
    assert get_experiment("authors_dmrn").model.dmrn_update_layers == 2
    loss = get_experiment("authors_av_att_original_loss").task.loss
    assert loss == "multilabel_soft_margin_on_softmax"
    assert get_experiment("authors_av_att").task.loss == "cross_entropy"


def _tiny(name, data_dir, **trainer):
    settings = {"batch_size": 8, "log_attention_videos": 0, "verbose": False, **trainer}
    return get_experiment(name).override({"data": {"data_dir": data_dir}, "trainer": settings})


def test_validation_every_nth_epoch_and_a_per_step_schedule(data_dir, tmp_path):
    # 48 training videos, batch 8: 6 steps per epoch; the rate drops x0.1 every 4 steps.
    experiment = _tiny(
        "authors_a", data_dir, epochs=4, validate_every=2, schedule={"decay_steps": 4}
    )
    result = train(experiment, str(tmp_path / "run"))
    with open(tmp_path / "run" / "metrics.jsonl") as f:
        lines = [json.loads(line) for line in f]
    # Epochs 1 and 3 (every 2nd), and 4: the last is always validated.
    assert [bool(line["val"]) for line in lines] == [True, False, True, True]
    assert result.best_epoch in (1, 3, 4)
    # The logged rate is the one the epoch ends with: steps 0-5, 6-11, 12-17, 18-23.
    rates = [line["train"]["learning_rate"] for line in lines]
    np.testing.assert_allclose(rates, [1e-4, 1e-5, 1e-7, 1e-8], rtol=1e-6)


def test_a_single_modality_model_predicting_no_event_trains_to_the_end(data_dir, tmp_path):
    experiment = _tiny("authors_a", data_dir, epochs=2, validate_every=1)
    task = LocalizationTask.from_experiment(experiment)
    build = task.build_model

    def background_model(use_cudnn="auto"):
        model = build(use_cudnn)
        bias = np.zeros([29], np.float32)
        bias[28] = 1e3  # background everywhere, whatever Adam does in two epochs
        model.get_layer("classifier").bias.assign(bias)
        return model

    task.build_model = background_model
    result = train(experiment, str(tmp_path / "background"), task=task)
    assert result.epochs_run == 2
    assert os.path.exists(tmp_path / "background" / "best.weights.h5")
