"""Reads the public AVE feature release: h5 arrays checked up front, rows streamed in chunks.

The release is a folder of h5 files, each holding one array under the key `avadataset`
(`audio_feature.h5` (N, 10, 128) float64, `visual_feature.h5` (N, 10, 7, 7, 512) float64 (~7.7 GB),
optional `labels.h5` (N, 10, 29) one-hot, optional `*_noisy.h5` background videos) plus split
files `*_order.h5` (key `order`: row indices). Rows are never loaded all at once: `FeatureArray`
reads the rows asked for, in the order asked, run by run. The release's arrays are contiguous and
uncompressed, so those runs are read straight from the file at their byte offset with `os.preadv`
(which releases the GIL, letting a reader thread overlap disk reads with encoding); chunked or
compressed arrays go through h5py.
"""

import os

import h5py
import numpy as np

from ave_tf.data import ave_metadata, schema

FEATURE_KEY = "avadataset"
ORDER_KEY = "order"

AUDIO_FILE = "audio_feature.h5"
VISUAL_FILE = "visual_feature.h5"
LABELS_FILE = "labels.h5"
AUDIO_NOISY_FILE = "audio_feature_noisy.h5"
VISUAL_NOISY_FILE = "visual_feature_noisy.h5"
LABELS_NOISY_FILE = "labels_noisy.h5"
ANNOTATIONS_FILE = "Annotations.txt"

# Trailing shapes (after the row axis); None = any length (segments).
AUDIO_SHAPE = (None, schema.AUDIO_DIM)
VISUAL_SHAPE = (None, *schema.VISUAL_SHAPE)
SEGMENT_LABELS_SHAPE = (None, schema.NUM_CLASSES)
VIDEO_LABELS_SHAPE = (schema.NUM_CLASSES,)


class ReleaseError(ValueError):
    """A release file that cannot be used (the message names the file, and the row if any)."""


def order_file_name(split: str) -> str:
    """`train` -> `train_order.h5`, `train_match` -> `train_order_match.h5`."""
    if split.endswith("_match"):
        return f"{split[: -len('_match')]}_order_match.h5"
    return f"{split}_order.h5"


def _describe_shape(shape: tuple) -> str:
    return "(N, " + ", ".join("T" if d is None else str(d) for d in shape) + ")"


class FeatureArray:
    """One array of the release (`path`, key `avadataset`), checked on opening, read by rows.

    Args:
      path: the h5 file.
      row_shape: expected shape after the row axis; None entries match any length.
      dtype_kinds: accepted numpy dtype kinds ("f" for features; labels may also be integers).

    Raises:
      ReleaseError: unreadable file, missing key (the keys found are listed), wrong rank or
        trailing shape, or a dtype of another kind.
    """

    def __init__(self, path: str, row_shape: tuple, dtype_kinds: str = "f"):
        self.path = path
        try:
            self._file = h5py.File(path, "r")
        except OSError as e:
            raise ReleaseError(f"{path}: cannot open as HDF5: {e}") from None
        if FEATURE_KEY not in self._file:
            keys = sorted(self._file.keys())
            self._file.close()
            raise ReleaseError(f"{path}: missing key {FEATURE_KEY!r} (keys: {keys})")
        self._dataset = self._file[FEATURE_KEY]
        self.shape = tuple(self._dataset.shape)
        self.dtype = self._dataset.dtype
        expected = (None, *row_shape)
        if len(self.shape) != len(expected) or any(
            e is not None and e != s for e, s in zip(expected, self.shape, strict=True)
        ):
            self.close()
            raise ReleaseError(
                f"{path}: {FEATURE_KEY!r} has shape {self.shape}, "
                f"expected {_describe_shape(row_shape)}"
            )
        if self.dtype.kind not in dtype_kinds:
            self.close()
            expected = "floats" if dtype_kinds == "f" else "numbers"
            raise ReleaseError(
                f"{path}: {FEATURE_KEY!r} has dtype {self.dtype}, expected {expected}"
            )
        self.row_bytes = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        self._offset = self._raw_offset()
        self._fd = os.open(path, os.O_RDONLY) if self._offset is not None else None

    @property
    def num_rows(self) -> int:
        return self.shape[0]

    def _raw_offset(self) -> int | None:
        """Byte offset of the data when it can be read directly (contiguous, no filters)."""
        dataset = self._dataset
        if dataset.chunks is not None or dataset.external or self.dtype.byteorder == ">":
            return None
        return dataset.id.get_offset()

    def read_rows(self, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Rows `rows` (any order) as an array [len(rows), ...] of the file's dtype, that order."""
        rows = np.asarray(rows, dtype=np.int64)
        shape = (len(rows), *self.shape[1:])
        if out is None:
            out = np.empty(shape, self.dtype)
        elif out.shape != shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous {self.dtype} array of shape {shape}")
        # Consecutive rows are read as one run (one read per run); rows in random write order
        # are mostly runs of one, i.e. one read per video, each straight into its output slot.
        runs = [r for r in np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1) if len(r)]
        self._prefetch_runs(runs)
        start = 0
        for run in runs:
            first, count = int(run[0]), len(run)
            self._read_run(first, count, out[start : start + count])
            start += count
        return out

    def _prefetch_runs(self, runs: list) -> None:
        """Asks the kernel for every run at once: scattered reads then queue on the disk together
        instead of waiting one by one (a no-op for pages already cached)."""
        if self._fd is None or len(runs) < 2 or not hasattr(os, "posix_fadvise"):
            return
        for run in runs:
            position = self._offset + int(run[0]) * self.row_bytes
            try:
                os.posix_fadvise(
                    self._fd, position, len(run) * self.row_bytes, os.POSIX_FADV_WILLNEED
                )
            except OSError:
                return  # only a hint; the reads themselves report real errors

    def _read_run(self, first: int, count: int, out: np.ndarray) -> None:
        if self._fd is None:
            try:
                self._dataset.read_direct(out, np.s_[first : first + count])
            except (OSError, ValueError) as e:
                raise ReleaseError(
                    f"{self.path}: cannot read rows {first}-{first + count - 1}: {e}"
                ) from None
            return
        view = memoryview(out).cast("B")
        position = self._offset + first * self.row_bytes
        done = 0
        while done < view.nbytes:
            try:
                got = os.preadv(self._fd, [view[done:]], position + done)
            except OSError as e:
                raise ReleaseError(f"{self.path}: read failed at row {first}: {e}") from None
            if got == 0:
                raise ReleaseError(
                    f"{self.path}: file is truncated (row {first + done // self.row_bytes} "
                    f"of {self.num_rows} ends past the end of the file)"
                )
            done += got

    def read_all(self) -> np.ndarray:
        """The whole array (only for the small label files)."""
        return self.read_rows(np.arange(self.num_rows))

    def close(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
            self._fd = None
        self._file.close()


def one_hot_to_index(one_hot: np.ndarray, path: str) -> np.ndarray:
    """Class indices of one-hot rows [N, ..., 29]; raises ReleaseError naming the first bad row."""
    valid = ((one_hot == 0) | (one_hot == 1)).all(axis=-1) & (one_hot.sum(axis=-1) == 1)
    if not valid.all():
        bad = np.argwhere(~valid)[0]
        where = f"row {bad[0]}" + (f" segment {bad[1]}" if len(bad) > 1 else "")
        values = one_hot[tuple(bad)]
        raise ReleaseError(
            f"{path}: {where} is not a valid one-hot label "
            f"(sum {values.sum():g}, nonzero classes {np.flatnonzero(values).tolist()})"
        )
    return one_hot.argmax(axis=-1).astype(np.int64)


def read_labels(path: str, row_shape: tuple) -> np.ndarray:
    """Class indices from a one-hot label file (`labels.h5` or `labels_noisy.h5`)."""
    array = FeatureArray(path, row_shape, dtype_kinds="fiub")
    try:
        return one_hot_to_index(array.read_all(), path)
    finally:
        array.close()


def check_order(order: np.ndarray, num_rows: int, source: str) -> np.ndarray:
    """Validates split row indices against the release size; returns them sorted (disk order)."""
    if order.size == 0:
        raise ReleaseError(f"{source}: the split is empty")
    bad = np.flatnonzero((order < 0) | (order >= num_rows))
    if bad.size:
        raise ReleaseError(
            f"{source}: index {int(order[bad[0]])} at position {int(bad[0])} is out of range "
            f"(the release has {num_rows} videos)"
        )
    rows, counts = np.unique(order, return_counts=True)
    if (counts > 1).any():
        raise ReleaseError(f"{source}: row {int(rows[counts > 1][0])} is listed more than once")
    return rows


# Splits that partition the same videos: no annotation row may be in two splits of a family.
# The match family is another partition of the same rows (for cross-modality localization), so
# overlaps across the families are by design.
SPLIT_FAMILIES = (schema.SPLITS, schema.MATCH_SPLITS)


def family_of(split: str) -> tuple[str, ...]:
    return next(family for family in SPLIT_FAMILIES if split in family)


def main_split_of(split: str) -> str:
    """`test_match` -> `test`: the main split a missing match split is derived from."""
    return split[: -len("_match")] if split.endswith("_match") else split


def read_release_order(h5_dir: str, split: str, num_rows: int) -> np.ndarray | None:
    """Sorted row indices of `split` from its order file in h5_dir; None when there is none."""
    path = os.path.join(h5_dir, order_file_name(split))
    if not os.path.exists(path):
        return None
    try:
        order = ave_metadata.read_order(path)
    except ave_metadata.AnnotationError as e:
        raise ReleaseError(str(e)) from None
    return check_order(order, num_rows, path)


def shipped_order(split: str, num_rows: int) -> np.ndarray:
    """Sorted row indices of `split` from the order file shipped with ave_tf."""
    shipped = ave_metadata.default_split_orders(match=split.endswith("_match"))[split]
    return check_order(shipped, num_rows, f"the {order_file_name(split)} shipped with ave_tf")


def derive_match_rows(
    split: str, main_rows: np.ndarray, event_lengths: np.ndarray, num_segments: int
) -> np.ndarray:
    """The rows of a missing match split, taken from its main split (`main_rows`, sorted).

    The real test_order_match.h5 holds only videos whose event is non-empty and shorter than
    the video (a full-length event leaves nothing to localize), so
    `test_match` keeps only those; `train_match` and `val_match` are their main splits.
    """
    if split != "test_match":
        return main_rows
    lengths = event_lengths[main_rows]
    return main_rows[(lengths > 0) & (lengths < num_segments)]


def first_leak(rows: dict[str, np.ndarray]) -> tuple[str, str, int] | None:
    """(split, other split, smallest shared row) of the first pair of one family sharing rows."""
    for family in SPLIT_FAMILIES:
        present = [s for s in family if s in rows]
        for i, a in enumerate(present):
            for b in present[i + 1 :]:
                shared = np.intersect1d(rows[a], rows[b])
                if shared.size:
                    return a, b, int(shared[0])
    return None


def cross_family_overlaps(rows: dict[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """{main split: {match split: rows shared}} for every pair of splits present in `rows`."""
    main, match = SPLIT_FAMILIES
    return {
        a: {b: int(np.intersect1d(rows[a], rows[b]).size) for b in match if b in rows}
        for a in main
        if a in rows
    }
