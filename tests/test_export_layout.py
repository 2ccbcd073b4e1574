"""The TF-Serving layout of an export base: atomic integer versions, models.config, batching
parameters, warm-up requests and the export description."""

import json
import os

import export_fixtures as fx
import pytest
from tensorflow_serving.config import model_server_config_pb2

from ave_tf.export import serving_config, versions, warmup
from ave_tf.export import signatures as sig
from ave_tf.export.exporter import EXPORT_INFO_FILE
from ave_tf.serving.loaded_model import LoadedModel
from ave_tf.serving.model_registry import sources_from_config_file


def _write_marker(text: str):
    def write(staging: str, version: int) -> None:
        with open(os.path.join(staging, versions.SAVED_MODEL_FILE), "w") as f:
            f.write(f"{text} {version}")

    return write


def _read_marker(path: str) -> str:
    with open(os.path.join(path, versions.SAVED_MODEL_FILE)) as f:
        return f.read()


def test_versions_count_up_from_one(tmp_path):
    base = str(tmp_path / "model")
    assert versions.list_versions(base) == []
    assert versions.publish_version(base, _write_marker("a")) == os.path.join(base, "1")
    assert versions.publish_version(base, _write_marker("b")) == os.path.join(base, "2")
    assert versions.publish_version(base, _write_marker("c"), version=7).endswith("/7")
    assert versions.next_version(base) == 8
    assert versions.list_versions(base) == [1, 2, 7]
    assert _read_marker(os.path.join(base, "2")) == "b 2"
    assert sorted(os.listdir(base)) == ["1", "2", "7"]  # no staging folder left


def test_existing_version_is_refused_unless_overwrite(tmp_path):
    base = str(tmp_path)
    versions.publish_version(base, _write_marker("old"), version=3)
    with pytest.raises(versions.VersionExistsError, match="3 exists"):
        versions.publish_version(base, _write_marker("new"), version=3)
    assert _read_marker(os.path.join(base, "3")) == "old 3"
    versions.publish_version(base, _write_marker("new"), version=3, overwrite=True)
    assert _read_marker(os.path.join(base, "3")) == "new 3"
    assert os.listdir(base) == ["3"]


def test_failed_write_leaves_nothing(tmp_path):
    base = str(tmp_path)
    versions.publish_version(base, _write_marker("good"), version=1)

    def broken(staging, version):
        _write_marker("half")(staging, version)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        versions.publish_version(base, broken)
    with pytest.raises(RuntimeError):
        versions.publish_version(base, broken, version=1, overwrite=True)
    assert os.listdir(base) == ["1"]
    assert _read_marker(os.path.join(base, "1")) == "good 1"


def test_only_integer_folders_with_a_saved_model_are_versions(tmp_path):
    for name in ("1", "12", ".tmp-13-99", "abc", "007"):
        os.makedirs(tmp_path / name)
    (tmp_path / "5").write_text("a file, not a folder")
    (tmp_path / "12" / versions.SAVED_MODEL_FILE).write_text("")
    assert versions.list_versions(str(tmp_path)) == [1, 12]
    assert versions.list_versions(str(tmp_path), complete_only=True) == [12]


def test_models_config_merges_models_and_replaces_same_name(tmp_path):
    directory = str(tmp_path)
    serving_config.update_models_config(directory, "ave", "/models/ave")
    serving_config.update_models_config(directory, "ave_weak", "/models/ave_weak", num_versions=2)
    path = serving_config.update_models_config(directory, "ave", "/srv/ave")
    config = serving_config.read_models_config(path)
    entries = {c.name: c for c in config.model_config_list.config}
    assert sorted(entries) == ["ave", "ave_weak"]
    assert entries["ave"].base_path == "/srv/ave"
    assert entries["ave"].model_platform == "tensorflow"
    assert entries["ave_weak"].model_version_policy.latest.num_versions == 2
    sources = sources_from_config_file(path)
    assert [(s.name, s.policy, s.num_versions) for s in sources] == [
        ("ave_weak", "latest", 2),
        ("ave", "latest", 1),
    ]
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"  # readable by a dockerized server


def test_unreadable_models_config_names_the_file(tmp_path):
    path = tmp_path / "models.config"
    path.write_text("model_config_list { config { nme: 'x' } }")
    with pytest.raises(serving_config.ServingConfigError, match="models.config"):
        serving_config.read_models_config(str(path))
    path.write_text("custom_model_config {}")
    with pytest.raises(serving_config.ServingConfigError, match="needs a model_config_list"):
        serving_config.read_models_config(str(path))


def test_shared_export_layout(tmp_path):
    exported = fx.shared_export()
    base = exported["base"]
    assert sorted(os.listdir(base)) == [
        "1",
        serving_config.BATCHING_PARAMETERS_FILE,
        serving_config.MODELS_CONFIG_FILE,
    ]
    config = serving_config.read_models_config(
        os.path.join(base, serving_config.MODELS_CONFIG_FILE)
    )
    (entry,) = config.model_config_list.config
    assert isinstance(entry, model_server_config_pb2.ModelConfig)
    assert (entry.name, entry.base_path) == ("ave", os.path.abspath(base))
    with open(os.path.join(base, serving_config.BATCHING_PARAMETERS_FILE)) as f:
        batching = f.read()
    assert "max_batch_size { value: 64 }" in batching
    assert "pad_variable_length_inputs: true" in batching

    with open(os.path.join(exported["path"], warmup.ASSETS_EXTRA_DIR, EXPORT_INFO_FILE)) as f:
        info = json.load(f)
    assert info["version"] == 1 and info["models"] == {"fixture": True}
    assert len(info["class_names"]) == 29 and info["class_names"][28] == "background"
    assert sig.LOCALIZE_V2A in info["signatures"]


def test_warmup_requests_cover_every_signature_and_replay():
    exported = fx.shared_export()
    logs = warmup.read_warmup_logs(exported["path"])
    kinds = {}
    for log in logs:
        kind = log.WhichOneof("log_type")
        request = getattr(log, kind).request
        kinds[request.model_spec.signature_name] = kind
        assert request.model_spec.name == "ave"
    assert kinds.pop(sig.CLASSIFY) == "classify_log"
    assert set(kinds.values()) == {"predict_log"}
    assert set(kinds) | {sig.CLASSIFY} == set(info_signatures(exported["path"]))
    assert LoadedModel("ave", 1, exported["path"]).warm_up() == len(logs)


def info_signatures(path: str) -> list[str]:
    with open(os.path.join(path, warmup.ASSETS_EXTRA_DIR, EXPORT_INFO_FILE)) as f:
        return json.load(f)["signatures"]
