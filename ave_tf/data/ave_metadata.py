"""The published AVE labels shipped with the package: class names, annotations and splits.

`Annotations.txt` rows are `Category&YouTubeID&Quality&Start&End` (the download has a header
line `Category&VideoID&Quality&StartTime&EndTime`; both are accepted). The row index is the
index used by the h5 feature release and by the `*_order.h5` split files.
"""

import dataclasses
import functools
from importlib import resources

import h5py
import numpy as np

from ave_tf.data import schema

_META_PACKAGE = "ave_tf.data"
_META_DIR = "ave_meta"
_HEADER_FIRST_FIELD = "category"


class AnnotationError(ValueError):
    """A malformed annotation or split file."""


@dataclasses.dataclass(frozen=True)
class Annotation:
    """One AVE video: its class and the event span [start, end) in 1-s segments."""

    row: int
    category: str
    video_id: str
    quality: str
    start: int
    end: int


def _meta_path(name: str) -> str:
    return str(resources.files(_META_PACKAGE).joinpath(_META_DIR, name))


def default_annotations_path() -> str:
    return _meta_path("Annotations.txt")


@functools.lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The 28 event class names in label-index order, then "background"."""
    with open(_meta_path("categories.txt"), encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    if len(names) != schema.NUM_EVENT_CLASSES:
        raise AnnotationError(f"categories.txt: expected 28 classes, found {len(names)}")
    return tuple(names) + ("background",)


def read_annotations(path: str | None = None) -> list[Annotation]:
    """Parses an AVE annotation file (with or without its header line)."""
    path = path or default_annotations_path()
    index = {name: i for i, name in enumerate(class_names())}
    rows = []
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\r\n") for line in f]
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("&")
        if line_number == 1 and fields[0].strip().lower() == _HEADER_FIRST_FIELD:
            continue
        if len(fields) != 5:
            raise AnnotationError(
                f"{path}:{line_number}: expected 5 '&'-separated fields: {line!r}"
            )
        category, video_id, quality, start, end = fields
        if category not in index:
            raise AnnotationError(f"{path}:{line_number}: unknown category {category!r}")
        try:
            start_i, end_i = int(start), int(end)
        except ValueError:
            raise AnnotationError(f"{path}:{line_number}: start/end are not integers") from None
        if not 0 <= start_i <= end_i <= schema.NUM_SEGMENTS:
            raise AnnotationError(f"{path}:{line_number}: bad event span [{start_i}, {end_i})")
        rows.append(Annotation(len(rows), category, video_id, quality, start_i, end_i))
    if not rows:
        raise AnnotationError(f"{path}: no annotation rows")
    return rows


def annotation_key(annotations: list[Annotation]) -> tuple:
    """What identifies a release's videos: (category, id, start, end) per row (quality ignored)."""
    return tuple((a.category, a.video_id, a.start, a.end) for a in annotations)


@functools.lru_cache(maxsize=1)
def _shipped_annotation_key() -> tuple:
    return annotation_key(read_annotations(default_annotations_path()))


def is_shipped_release(annotations: list[Annotation]) -> bool:
    """True when `annotations` are the shipped Annotations.txt row for row (header ignored).

    Only then do the split files shipped with ave_tf index the same videos as the release.
    """
    return annotation_key(annotations) == _shipped_annotation_key()


def class_index(category: str) -> int:
    return class_names().index(category)


def segment_labels(annotation: Annotation, num_segments: int = schema.NUM_SEGMENTS) -> np.ndarray:
    """Per-segment labels: the class inside [start, end), background elsewhere."""
    labels = np.full([num_segments], schema.BACKGROUND_CLASS, dtype=np.int64)
    labels[annotation.start : annotation.end] = class_index(annotation.category)
    return labels


def read_order(path: str) -> np.ndarray:
    """Reads a split file (`*_order.h5`, key `order`): int64 row indices into the annotations."""
    try:
        with h5py.File(path, "r") as f:
            if "order" not in f:
                raise AnnotationError(f"{path}: missing key 'order' (keys: {sorted(f.keys())})")
            order = np.asarray(f["order"][()], dtype=np.int64).reshape(-1)
    except OSError as e:
        raise AnnotationError(f"{path}: cannot read split file: {e}") from None
    return order


def default_split_orders(match: bool = False) -> dict[str, np.ndarray]:
    """The paper's splits shipped with the package, keyed by split name."""
    suffix = "_order_match.h5" if match else "_order.h5"
    out = {}
    for split in schema.SPLITS:
        name = f"{split}_match" if match else split
        out[name] = read_order(_meta_path(split + suffix))
    return out
