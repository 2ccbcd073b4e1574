"""A model_dir written before a config field existed still resumes (the field takes its default),
while a real change of configuration is still refused."""

import os

import pytest
import yaml

from ave_tf.experiments import get_experiment
from ave_tf.training import run_dir


def _older_run(model_dir: str, experiment) -> None:
    stored = experiment.to_dict()
    del stored["trainer"]["optimizer"]["global_clipnorm"]  # fields added after the run started
    del stored["trainer"]["schedule"]["milestones"]
    os.makedirs(os.path.join(model_dir, run_dir.CHECKPOINT_DIR))
    with open(run_dir.params_path(model_dir), "w") as f:
        yaml.safe_dump(stored, f)
    with open(os.path.join(model_dir, run_dir.CHECKPOINT_DIR, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "ckpt-3"\n')  # an epoch finished: nothing is replaced


def test_run_from_before_new_config_fields_resumes(tmp_path):
    experiment = get_experiment("table2/early/mrn")
    model_dir = str(tmp_path / "run")
    _older_run(model_dir, experiment)
    assert run_dir.prepare_run_dir(model_dir, experiment) is True


def test_a_changed_field_is_still_refused(tmp_path):
    experiment = get_experiment("table2/early/mrn")
    model_dir = str(tmp_path / "run")
    _older_run(model_dir, experiment)
    changed = experiment.override({"trainer": {"optimizer": {"learning_rate": 0.5}}})
    with pytest.raises(run_dir.RunDirError, match="learning_rate"):
        run_dir.prepare_run_dir(model_dir, changed)
