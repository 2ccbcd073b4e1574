"""The demo's check of an existing embedded dataset (the full demo is `make demo`)."""

import json

from ave_tf.data.synthetic_config import GENERATOR_VERSION
from ave_tf.demo import stale_synthetic_dataset


def _write_info(path, extra):
    path.mkdir(exist_ok=True)
    (path / "dataset.json").write_text(json.dumps({"schema_version": 1, "extra": extra}))
    return str(path)


def test_current_ave_synth_dataset_is_reused(tmp_path):
    extra = {
        "generator": "ave_synth",
        "generator_version": GENERATOR_VERSION,
        "config": {"seed": 0},
    }
    assert stale_synthetic_dataset(_write_info(tmp_path / "d", extra), seed=0) is None


def test_older_generator_or_other_seed_is_rebuilt(tmp_path):
    old = {"generator": "ave_synth", "generator_version": GENERATOR_VERSION - 1, "config": {}}
    assert "generator version" in stale_synthetic_dataset(_write_info(tmp_path / "a", old), 0)
    other_seed = {"generator": "ave_synth", "generator_version": GENERATOR_VERSION,
                  "config": {"seed": 3}}  # fmt: skip
    assert "--seed=3" in stale_synthetic_dataset(_write_info(tmp_path / "b", other_seed), 0)


def test_datasets_not_made_by_ave_synth_are_never_rebuilt(tmp_path):
    assert (
        stale_synthetic_dataset(_write_info(tmp_path / "c", {"source": "ave_release"}), 0) is None
    )
    assert stale_synthetic_dataset(str(tmp_path / "missing"), 0) is None
