"""`dataset.json`: the description written beside the shards of a dataset directory."""

import dataclasses
import json
import os

from ave_tf.data import schema
from ave_tf.utils import file_io
from ave_tf.utils.atomic_files import write_json_atomic


class DatasetError(ValueError):
    """A dataset directory that cannot be used (names the directory or file)."""


@dataclasses.dataclass
class DatasetInfo:
    """Fields of dataset.json.

    Attributes:
      name: a short name, e.g. "ave" or "ave_synthetic".
      source: where the features come from ("ave_release", "synthetic", "extracted").
      synthetic: True when the features are generated, not extracted from real videos.
      description: one paragraph for people reading the file.
      class_names: the 29 class names (index 28 = background).
      splits: per split: {"videos": int, "segments": int, "shards": int, "files": [...]}.
      visual_dtype: storage dtype of visual maps ("float32" or "float16"); reading gives float32.
      compression: TFRecord compression ("" or "GZIP").
      extra: anything else the writer wants to record (generator settings, provenance).
    """

    name: str
    source: str
    synthetic: bool
    description: str
    class_names: list
    splits: dict
    visual_dtype: str = "float32"
    compression: str = ""
    extra: dict = dataclasses.field(default_factory=dict)
    schema_version: int = schema.SCHEMA_VERSION
    audio_shape: list = dataclasses.field(default_factory=lambda: [schema.AUDIO_DIM])
    visual_shape: list = dataclasses.field(default_factory=lambda: list(schema.VISUAL_SHAPE))
    num_classes: int = schema.NUM_CLASSES
    background_class: int = schema.BACKGROUND_CLASS

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def info_path(data_dir: str) -> str:
    return os.path.join(data_dir, schema.DATASET_INFO_FILE)


def write_dataset_info(data_dir: str, info: DatasetInfo) -> None:
    write_json_atomic(info_path(data_dir), info.to_json())


def load_dataset_info(data_dir: str) -> DatasetInfo:
    """Reads and checks dataset.json; raises DatasetError naming the file on any problem."""
    path = info_path(data_dir)
    if not file_io.isfile(path):
        raise DatasetError(f"{path}: not found (is --data_dir a dataset directory?)")
    try:
        raw = json.loads(file_io.read_text(path))
    except (OSError, json.JSONDecodeError) as e:
        raise DatasetError(f"{path}: unreadable: {e}") from None
    version = raw.get("schema_version")
    if version != schema.SCHEMA_VERSION:
        raise DatasetError(
            f"{path}: schema version {version} is not supported by this ave_tf "
            f"(expects {schema.SCHEMA_VERSION}); rebuild the dataset with this version"
        )
    fields = {f.name for f in dataclasses.fields(DatasetInfo)}
    missing = [k for k in ("name", "source", "synthetic", "splits") if k not in raw]
    if missing:
        raise DatasetError(f"{path}: missing fields {missing}")
    info = DatasetInfo(
        **{k: v for k, v in raw.items() if k in fields},
        **{k: raw.get(k, "") for k in ("description",) if k not in raw},
        **{k: [] for k in ("class_names",) if k not in raw},
    )
    if info.visual_dtype not in schema.VISUAL_DTYPES:
        raise DatasetError(f"{path}: unknown visual_dtype {info.visual_dtype!r}")
    if list(info.audio_shape) != [schema.AUDIO_DIM] or list(info.visual_shape) != list(
        schema.VISUAL_SHAPE
    ):
        raise DatasetError(f"{path}: feature shapes {info.audio_shape}/{info.visual_shape} differ")
    return info
