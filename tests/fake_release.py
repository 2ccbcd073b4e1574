"""Writes fake AVE feature releases: the real file names, keys, dtypes and quirks, any size.

The features are random float64 (written block by block, so a full-size 7.7 GB release never sits
in memory); the annotations carry the quirks of the real ones (a zero-length event, a YouTube id
in two rows with different classes). Used by the converter tests and benchmarks/convert_benchmark.
Tests keep releases tiny with few segments per video, or with `lazy_features` (no feature data
on disk at all) where they need the 4143 rows of the real annotations.
"""

import dataclasses
import os

import h5py
import numpy as np

from ave_tf.data import ave_metadata, ave_release, schema

NUM_SEGMENTS = schema.NUM_SEGMENTS
_BLOCK_VIDEOS = 64


@dataclasses.dataclass
class FakeRelease:
    """A fake release on disk, and (when kept) the arrays written into it."""

    h5_dir: str
    annotation_rows: list  # (category, youtube_id, quality, start, end) per row
    segment_labels: np.ndarray  # [N, T] class indices (what labels.h5 one-hot encodes)
    orders: dict  # split -> row indices as written in <split>_order.h5
    audio: np.ndarray | None = None  # [N, T, 128] float64
    visual: np.ndarray | None = None  # [N, T, 7, 7, 512] float64
    noisy_audio: np.ndarray | None = None
    noisy_visual: np.ndarray | None = None

    def path(self, name: str) -> str:
        return os.path.join(self.h5_dir, name)


def _annotation_rows(
    num_videos: int, rng: np.random.Generator, num_segments: int, num_classes: int, grouped: bool
) -> list:
    """Rows in the real format; row 1 has a zero-length event, rows 4 and 7 share a YouTube id.

    Classes cycle row by row, or with `grouped` come in blocks as in the real Annotations.txt.
    """
    names = ave_metadata.class_names()[:num_classes]
    rows = []
    for row in range(num_videos):
        start = int(rng.integers(0, max(1, num_segments - 4)))
        end = int(rng.integers(start + 1, num_segments + 1)) if row % 3 else num_segments
        name = names[row * num_classes // num_videos] if grouped else names[row % num_classes]
        rows.append([name, f"yt{row:05d}-x_", "good", start, end])
    if num_videos > 1:
        rows[1][3:] = [0, 0]
    if num_videos > 7:
        rows[7][1], rows[7][3:] = rows[4][1], rows[4][3:]
    return [tuple(r) for r in rows]


def _write_array(path: str, key: str, array: np.ndarray, chunked: bool) -> None:
    with h5py.File(path, "w") as f:
        if chunked:
            f.create_dataset(key, data=array, chunks=True, compression="gzip")
        else:
            f.create_dataset(key, data=array)


def _write_features(path, num_videos, row_shape, rng, keep, chunked, lazy) -> np.ndarray | None:
    """Random float64 features written in blocks of videos; returns them when `keep`.

    `lazy`: nothing is written (HDF5 allocates no storage and reads zeros); returns None.
    """
    kept = []
    with h5py.File(path, "w") as f:
        options = {"chunks": (1, *row_shape), "compression": "gzip"} if chunked else {}
        dataset = f.create_dataset(
            ave_release.FEATURE_KEY, (num_videos, *row_shape), "<f8", **options
        )
        if lazy:
            return None
        for start in range(0, num_videos, _BLOCK_VIDEOS):
            count = min(_BLOCK_VIDEOS, num_videos - start)
            # Non-negative like ReLU/VGGish outputs, with full float64 mantissas.
            block = rng.random((count, *row_shape)) * 4.0
            dataset[start : start + count] = block
            if keep:
                kept.append(block)
    return np.concatenate(kept) if keep else None


def _one_hot(indices: np.ndarray) -> np.ndarray:
    return np.eye(schema.NUM_CLASSES, dtype=np.float32)[indices]


def _orders(num_videos: int, rng: np.random.Generator) -> dict:
    """Shuffled 80/10/10 splits, and a different shuffle for the cross-modality (match) splits."""
    splits = {}
    n_val = max(1, num_videos // 10)
    n_train = num_videos - 2 * n_val
    for suffix in ("", "_match"):
        permutation = rng.permutation(num_videos)
        splits[f"train{suffix}"] = permutation[:n_train]
        splits[f"val{suffix}"] = permutation[n_train : n_train + n_val]
        splits[f"test{suffix}"] = permutation[n_train + n_val :]
    return splits


def shipped_annotation_rows() -> list:
    """The rows of the Annotations.txt shipped with ave_tf (the real AVE release)."""
    return [
        (a.category, a.video_id, a.quality, a.start, a.end) for a in ave_metadata.read_annotations()
    ]


def write_fake_release(
    h5_dir: str,
    *,
    num_videos: int = 12,
    num_noisy: int = 3,
    seed: int = 0,
    labels_file: bool = True,
    match_orders: bool = True,
    order_files: bool = True,
    annotations_file: bool = True,
    annotations_header: bool = False,
    chunked: bool = False,
    keep_arrays: bool = True,
    num_segments: int = NUM_SEGMENTS,
    num_classes: int = schema.NUM_EVENT_CLASSES,
    grouped_by_class: bool = False,
    annotation_rows: list | None = None,
    orders: dict | None = None,
    lazy_features: bool = False,
) -> FakeRelease:
    """Writes a release of `num_videos` videos (+ `num_noisy` background videos) into h5_dir.

    Args:
      labels_file: write labels.h5 (else the converter must use the annotations).
      match_orders / order_files: write the `*_order_match.h5` / `*_order.h5` split files.
      annotations_file: write Annotations.txt beside the h5 files.
      chunked: store features chunked + gzip (the converter's h5py path) instead of contiguous.
      keep_arrays: return the features (tests); False for big benchmark releases.
      num_segments: segments per video (fewer keep test releases small).
      num_classes / grouped_by_class: classes used, and whether rows are grouped by class (as
        in the real Annotations.txt) instead of cycling through the classes.
      annotation_rows: these rows (e.g. `shipped_annotation_rows()`) instead of generated ones;
        num_videos is then their number.
      orders: split -> row indices to write as order files, instead of random 80/10/10 splits
        (and another random partition for the match splits).
      lazy_features: write no feature data (reads as zeros; see `_write_features`).
    """
    os.makedirs(h5_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    if annotation_rows is None:
        rows = _annotation_rows(num_videos, rng, num_segments, num_classes, grouped_by_class)
    else:
        rows, num_videos = list(annotation_rows), len(annotation_rows)
    class_index = {name: i for i, name in enumerate(ave_metadata.class_names())}
    labels = np.full([num_videos, num_segments], schema.BACKGROUND_CLASS, np.int64)
    for row, (category, _, _, start, end) in enumerate(rows):
        labels[row, start:end] = class_index[category]
    generated = _orders(num_videos, rng)
    release = FakeRelease(h5_dir, rows, labels, generated if orders is None else dict(orders))

    if annotations_file:
        lines = ["Category&VideoID&Quality&StartTime&EndTime"] if annotations_header else []
        lines += ["&".join(str(field) for field in row) for row in rows]
        with open(release.path(ave_release.ANNOTATIONS_FILE), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    audio_shape = (num_segments, schema.AUDIO_DIM)
    visual_shape = (num_segments, *schema.VISUAL_SHAPE)
    options = dict(rng=rng, keep=keep_arrays, chunked=chunked, lazy=lazy_features)
    release.audio = _write_features(
        release.path(ave_release.AUDIO_FILE), num_videos, audio_shape, **options
    )
    release.visual = _write_features(
        release.path(ave_release.VISUAL_FILE), num_videos, visual_shape, **options
    )
    if labels_file:
        _write_array(
            release.path(ave_release.LABELS_FILE), ave_release.FEATURE_KEY, _one_hot(labels), False
        )
    if num_noisy:
        release.noisy_audio = _write_features(
            release.path(ave_release.AUDIO_NOISY_FILE), num_noisy, audio_shape, **options
        )
        release.noisy_visual = _write_features(
            release.path(ave_release.VISUAL_NOISY_FILE), num_noisy, visual_shape, **options
        )
        noisy_labels = _one_hot(np.full([num_noisy], schema.BACKGROUND_CLASS))
        _write_array(
            release.path(ave_release.LABELS_NOISY_FILE),
            ave_release.FEATURE_KEY,
            noisy_labels,
            False,
        )
    for split, order in release.orders.items():
        is_match = split.endswith("_match")
        if (is_match and match_orders) or (not is_match and order_files):
            path = release.path(ave_release.order_file_name(split))
            _write_array(path, ave_release.ORDER_KEY, order.astype(np.int64), False)
    return release


def set_h5_value(path: str, index: tuple, value, key: str = ave_release.FEATURE_KEY) -> None:
    """Overwrites one element of an h5 array in place (to plant NaNs, bad labels, ...)."""
    with h5py.File(path, "r+") as f:
        f[key][index] = value


def rewrite_h5(path: str, array: np.ndarray, key: str = ave_release.FEATURE_KEY) -> None:
    """Replaces an h5 file by one holding `array` under `key`."""
    os.remove(path)
    _write_array(path, key, array, False)
