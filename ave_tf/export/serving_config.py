"""Server configuration files written beside the exports.

- `models.config`: a TF-Serving `ModelServerConfig` (text proto, `model_config_list`), one entry
  per exported model, merged on each export so one file serves several models
  (`tensorflow_model_server --model_config_file=...`, `ave_serve --model_config_file=...`).
- `batching_parameters.txt`: `tensorflow_model_server --enable_batching
  --batching_parameters_file=...`; sized for batches of up to 64 ten-second videos.
"""

import os

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from ave_tf.utils.atomic_files import write_text_atomic

MODELS_CONFIG_FILE = "models.config"
BATCHING_PARAMETERS_FILE = "batching_parameters.txt"

# Variable-length inputs (T) are padded to the longest request of a batch; all AVE videos are
# 10 s, so batches of AVE requests never pad (see export/README.md).
BATCHING_PARAMETERS = """\
# tensorflow_model_server --enable_batching --batching_parameters_file=<this file>
max_batch_size { value: 64 }
batch_timeout_micros { value: 2000 }
max_enqueued_batches { value: 128 }
num_batch_threads { value: 4 }
pad_variable_length_inputs: true
"""


def _write_readable(path: str, text: str) -> None:
    """Atomic write, readable by a server running as another user (e.g. in docker)."""
    write_text_atomic(path, text)
    os.chmod(path, 0o644)


class ServingConfigError(ValueError):
    """An unreadable or invalid models.config (names the file)."""


def read_models_config(path: str) -> model_server_config_pb2.ModelServerConfig:
    """Parses a text-format ModelServerConfig; raises ServingConfigError naming the file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ServingConfigError(f"{path}: cannot read: {e.strerror}") from None
    config = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as e:
        raise ServingConfigError(f"{path}: not a ModelServerConfig text proto: {e}") from None
    if config.WhichOneof("config") != "model_config_list":
        raise ServingConfigError(f"{path}: needs a model_config_list")
    return config


def update_models_config(
    config_dir: str, model_name: str, base_path: str, num_versions: int = 1
) -> str:
    """Adds or replaces the entry of `model_name` in `config_dir/models.config`; returns its path.

    Args:
      base_path: the export base as the server will see it (absolute; a container path when the
        server runs in docker).
      num_versions: how many of the newest versions the server keeps loaded.
    """
    path = os.path.join(config_dir, MODELS_CONFIG_FILE)
    if os.path.exists(path):
        config = read_models_config(path)
    else:
        config = model_server_config_pb2.ModelServerConfig()
    entries = config.model_config_list.config
    kept = [entry for entry in entries if entry.name != model_name]
    del entries[:]
    entries.extend(kept)
    entry = entries.add()
    entry.name = model_name
    entry.base_path = base_path
    entry.model_platform = "tensorflow"
    entry.model_version_policy.latest.num_versions = num_versions
    os.makedirs(config_dir, exist_ok=True)
    _write_readable(path, text_format.MessageToString(config))
    return path


def write_batching_parameters(config_dir: str) -> str:
    path = os.path.join(config_dir, BATCHING_PARAMETERS_FILE)
    os.makedirs(config_dir, exist_ok=True)
    _write_readable(path, BATCHING_PARAMETERS)
    return path
