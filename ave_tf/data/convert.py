"""Converts the public AVE feature release (h5) into a dataset directory of TFRecord shards.

Streaming: each split's videos are written in a seeded random order (`write_order`: the release
lists videos grouped by class, so disk order would give shards of two or three classes each) and
read in that order in chunks of `chunk_videos` videos, one ~2 MB read per visual row (the 7.7 GB
visual file is never loaded whole). A reader thread reads and narrows chunk k+1
(float64 -> float32/float16, NaN/Inf/overflow checks) while the main thread encodes and writes
chunk k; the queue between them holds at most `prefetch_chunks` chunks, so memory stays bounded
(a few hundred MB) whatever the release size. Shards are staged and renamed into place by
`DatasetWriter` only when every split is complete.

Before the long work, each split's rows are resolved (`_SplitSources`) and checked for leaks
within their family (train/val/test; train_match/val_match/test_match).

Example:
  info = convert(ConvertConfig(h5_dir="AVE_Dataset", output_dir="tfrecords/ave"))
"""

import collections
import dataclasses
import glob
import os
import time
from collections.abc import Callable, Iterator

import numpy as np
from absl import logging

from ave_tf.data import ave_metadata, ave_release, example_codec, schema, write_order
from ave_tf.data.ave_release import ReleaseError
from ave_tf.data.dataset_info import DatasetInfo
from ave_tf.utils.background_iterator import prefetch_in_thread

# TensorFlow (shard writing) and Keras (progress bar) are imported only once the inputs have been
# checked, so bad input fails in about a second instead of after TensorFlow's start-up.

SOURCE = "ave_release"
DEFAULT_SHARD_BYTES = 200 * 2**20


class ConvertError(ValueError):
    """A conversion that cannot go ahead (bad flags, missing files, a failed write)."""


@dataclasses.dataclass
class ConvertConfig:
    """What `convert` reads and writes.

    Attributes:
      h5_dir: folder of the AVE feature release (`audio_feature.h5`, `visual_feature.h5`, ...).
      output_dir: dataset directory to write (shards + dataset.json).
      annotations: Annotations.txt (with or without header); "" = `h5_dir/Annotations.txt` when
        present, else the copy shipped with ave_tf.
      splits: splits to write; empty = train/val/test, plus `train_noisy` when the noisy files
        are in h5_dir, plus the `*_match` splits whose order files are in h5_dir. A split whose
        order file is missing uses the one shipped with ave_tf when the annotations are the
        shipped ones; otherwise a match split is derived from its main split in h5_dir, and a
        missing main split is an error.
      use_labels_file: take segment labels from `labels.h5` when present; False = always from
        the annotations.
      visual_dtype: "float32" (exact) or "float16" (half the disk; |x| > 65504 is an error).
      shard_bytes: target shard size.
      compression: "" or "GZIP".
      overwrite: replace a dataset already in output_dir.
      chunk_videos: videos per h5 read.
      prefetch_chunks: chunks read ahead of the encoder (bounds memory).
      show_progress: draw a progress bar.
      seed: seed of each split's random write order (`write_order.permutation`).
    """

    h5_dir: str
    output_dir: str
    annotations: str = ""
    splits: tuple = ()
    use_labels_file: bool = True
    visual_dtype: str = "float32"
    shard_bytes: int = DEFAULT_SHARD_BYTES
    compression: str = ""
    overwrite: bool = False
    chunk_videos: int = 32
    prefetch_chunks: int = 2
    show_progress: bool = True
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class VideoMeta:
    """Everything a record needs besides the features."""

    video_id: str
    class_index: int
    class_name: str
    event_start: int
    event_end: int
    annotation_index: int
    labels: np.ndarray | None  # [T] segment labels; None when only a video label is known


@dataclasses.dataclass
class SplitJob:
    """One split to write: its rows (in write order) in a pair of feature arrays, and metadata."""

    split: str
    rows: np.ndarray
    audio: ave_release.FeatureArray
    visual: ave_release.FeatureArray
    videos: list  # VideoMeta per entry of `rows`


@dataclasses.dataclass
class ConvertResult:
    """What `convert` wrote (`info` = the dataset.json written) and how fast."""

    info: DatasetInfo
    videos: int
    input_bytes: int  # h5 feature bytes read (float64 in the public release)
    output_bytes: int
    seconds: float  # reading, encoding and writing (TensorFlow's start-up excluded)

    @property
    def input_mb_per_s(self) -> float:
        return self.input_bytes / 2**20 / max(self.seconds, 1e-9)


def unique_video_ids(annotations: list) -> list[str]:
    """YouTube ids, with `@<row>` appended to the ids that appear in several annotation rows."""
    counts = collections.Counter(a.video_id for a in annotations)
    return [a.video_id if counts[a.video_id] == 1 else f"{a.video_id}@{a.row}" for a in annotations]


class _Release:
    """The files of one release folder, opened lazily and closed together."""

    def __init__(self, h5_dir: str):
        if not os.path.isdir(h5_dir):
            raise ConvertError(f"--h5_dir {h5_dir}: not a directory")
        if not glob.glob(os.path.join(h5_dir, "*.h5")):
            raise ConvertError(
                f"{os.path.join(h5_dir, '*.h5')}: matches no files "
                "(is --h5_dir the folder of the AVE feature release?)"
            )
        self.h5_dir = h5_dir
        self._open: dict[str, ave_release.FeatureArray] = {}

    def path(self, name: str) -> str:
        return os.path.join(self.h5_dir, name)

    def has(self, name: str) -> bool:
        return os.path.exists(self.path(name))

    def array(self, name: str, row_shape: tuple) -> ave_release.FeatureArray:
        if name not in self._open:
            if not self.has(name):
                raise ConvertError(f"{self.path(name)}: not found")
            self._open[name] = ave_release.FeatureArray(self.path(name), row_shape)
        return self._open[name]

    def close(self) -> None:
        for array in self._open.values():
            array.close()
        self._open.clear()


def _check_same_rows(a: ave_release.FeatureArray, b: ave_release.FeatureArray) -> None:
    if a.num_rows != b.num_rows:
        raise ReleaseError(
            f"{a.path} has {a.num_rows} videos but {b.path} has {b.num_rows}: "
            "the files come from different releases"
        )
    if a.shape[1] != b.shape[1]:
        raise ReleaseError(
            f"{a.path} has {a.shape[1]} segments per video but {b.path} has {b.shape[1]}"
        )


def _default_splits(release: _Release) -> list[str]:
    splits = list(schema.SPLITS)
    noisy = [ave_release.AUDIO_NOISY_FILE, ave_release.VISUAL_NOISY_FILE]
    present = [name for name in noisy if release.has(name)]
    if len(present) == len(noisy):
        splits.append(schema.NOISY_SPLIT)
    elif present:
        missing = [name for name in noisy if name not in present]
        logging.warning("%s: skipping %s (missing %s)", release.h5_dir, schema.NOISY_SPLIT, missing)
    splits += [s for s in schema.MATCH_SPLITS if release.has(ave_release.order_file_name(s))]
    return splits


def _refuse_existing_dataset(config: ConvertConfig) -> None:
    """Fails before the long work (DatasetWriter checks again when it starts)."""
    if config.overwrite:
        return
    existing = glob.glob(os.path.join(config.output_dir, "*-*-of-*.tfrecord"))  # SHARD_PATTERN
    if os.path.exists(os.path.join(config.output_dir, schema.DATASET_INFO_FILE)) or existing:
        raise ConvertError(
            f"{config.output_dir}: already holds a dataset; pass --overwrite to replace it"
        )


def _annotation_path(config: ConvertConfig) -> str:
    if config.annotations:
        if not os.path.isfile(config.annotations):
            raise ConvertError(f"--annotations {config.annotations}: not found")
        return config.annotations
    beside = os.path.join(config.h5_dir, ave_release.ANNOTATIONS_FILE)
    return beside if os.path.isfile(beside) else ave_metadata.default_annotations_path()


def _read_annotations(config: ConvertConfig, audio: ave_release.FeatureArray) -> tuple[list, str]:
    """The release's annotations (checked against its audio array) and their path."""
    annotation_path = _annotation_path(config)
    annotations = ave_metadata.read_annotations(annotation_path)
    if len(annotations) != audio.num_rows:
        raise ReleaseError(
            f"{audio.path} has {audio.num_rows} videos but {annotation_path} has "
            f"{len(annotations)} annotation rows"
        )
    num_segments = audio.shape[1]
    longest = max(annotations, key=lambda a: a.end)
    if longest.end > num_segments:
        raise ReleaseError(
            f"{annotation_path}: row {longest.row} ends at segment {longest.end} but "
            f"{audio.path} has {num_segments} segments per video"
        )
    return annotations, annotation_path


def _segment_labels(
    config: ConvertConfig,
    release: _Release,
    annotations: list,
    annotation_path: str,
    num_segments: int,
    notes: list,
    extra: dict,
) -> np.ndarray:
    """[N, T] segment labels: from labels.h5 when present and wanted, else the annotations."""
    from_annotations = np.stack([ave_metadata.segment_labels(a, num_segments) for a in annotations])
    if not (config.use_labels_file and release.has(ave_release.LABELS_FILE)):
        extra["labels_source"] = annotation_path
        if config.use_labels_file:
            notes.append(
                f"no {ave_release.LABELS_FILE} in {config.h5_dir}: labels from {annotation_path}"
            )
        return from_annotations
    labels_path = release.path(ave_release.LABELS_FILE)
    try:
        labels = ave_release.read_labels(labels_path, ave_release.SEGMENT_LABELS_SHAPE)
    except ReleaseError as e:
        raise ReleaseError(f"{e} (--nolabels_h5 takes the labels from the annotations)") from None
    if labels.shape != from_annotations.shape:
        raise ReleaseError(
            f"{labels_path} has labels of shape {labels.shape} but "
            f"{release.path(ave_release.AUDIO_FILE)} and {annotation_path} describe "
            f"{from_annotations.shape}"
        )
    disagreeing = int((labels != from_annotations).any(axis=1).sum())
    extra["labels_source"] = labels_path
    extra["videos_whose_labels_differ_from_annotations"] = disagreeing
    if disagreeing:
        notes.append(f"{labels_path}: {disagreeing} videos differ from {annotation_path}")
    return labels


def _main_videos(
    config: ConvertConfig, release: _Release, notes: list, extra: dict
) -> tuple[list, list]:
    """VideoMeta per row of the main release (train/val/test and the match splits), and the
    annotations they come from."""
    audio = release.array(ave_release.AUDIO_FILE, ave_release.AUDIO_SHAPE)
    visual = release.array(ave_release.VISUAL_FILE, ave_release.VISUAL_SHAPE)
    _check_same_rows(audio, visual)
    annotations, annotation_path = _read_annotations(config, audio)
    extra["annotations"] = annotation_path
    labels = _segment_labels(
        config, release, annotations, annotation_path, audio.shape[1], notes, extra
    )
    ids = unique_video_ids(annotations)
    videos = [
        VideoMeta(
            video_id=ids[a.row],
            class_index=ave_metadata.class_index(a.category),
            class_name=a.category,
            event_start=a.start,
            event_end=a.end,
            annotation_index=a.row,
            labels=labels[a.row],
        )
        for a in annotations
    ]
    return videos, annotations


@dataclasses.dataclass(frozen=True)
class _SplitRows:
    """A split's rows (sorted) and where they come from."""

    split: str
    rows: np.ndarray
    source: str  # the order file, "package" (shipped with ave_tf) or "derived from <file>"
    derived_from: int = 0  # videos of the main split it was derived from

    def describe(self) -> str:
        """The source as error messages name it."""
        if self.source == "package":
            return f"the {ave_release.order_file_name(self.split)} shipped with ave_tf"
        if self.source.startswith("derived"):
            return f"{self.split} ({self.source})"
        return self.source


class _SplitSources:
    """Finds a split's rows: the release's order file; else the shipped one, but only for the
    release those files index (the shipped annotations); else, for a match split, its main split
    in the same release. Mixing another release's split files in would silently leak videos."""

    def __init__(self, h5_dir: str, videos: list, num_segments: int, annotations: list, path: str):
        self.h5_dir = h5_dir
        self.num_rows = len(videos)
        self.num_segments = num_segments
        self.event_lengths = np.array([v.event_end - v.event_start for v in videos])
        self.shipped = ave_metadata.is_shipped_release(annotations)
        self.annotation_path = path

    def get(self, split: str, required: bool = True) -> _SplitRows | None:
        rows = ave_release.read_release_order(self.h5_dir, split, self.num_rows)
        if rows is not None:
            return _SplitRows(split, rows, self._path(split))
        if self.shipped:
            return _SplitRows(split, ave_release.shipped_order(split, self.num_rows), "package")
        derived = self._derived(split)
        if derived is not None or not required:
            return derived
        main = ave_release.main_split_of(split)
        missing = self._path(split) + ("" if main == split else f" (nor {self._path(main)})")
        raise ConvertError(
            f"{missing}: not found, and the split files shipped with ave_tf do not apply: "
            f"{self.annotation_path} is not the Annotations.txt shipped with ave_tf "
            f"(add the file or leave {split} out of --splits)"
        )

    def _path(self, split: str) -> str:
        return os.path.join(self.h5_dir, ave_release.order_file_name(split))

    def _derived(self, split: str) -> _SplitRows | None:
        main = ave_release.main_split_of(split)
        main_rows = (
            None
            if main == split
            else ave_release.read_release_order(self.h5_dir, main, self.num_rows)
        )
        if main_rows is None:
            return None
        source = f"derived from {ave_release.order_file_name(main)}"
        rows = ave_release.derive_match_rows(
            split, main_rows, self.event_lengths, self.num_segments
        )
        rows = ave_release.check_order(rows, self.num_rows, f"{split} {source}")
        return _SplitRows(split, rows, source, derived_from=len(main_rows))


def _resolve_splits(sources: _SplitSources, splits: list[str]) -> dict[str, _SplitRows]:
    """The splits asked for, plus the other members of their families that the release has
    (so a leak against, say, train is caught when only test is written)."""
    resolved = {split: sources.get(split) for split in splits}
    for family in ave_release.SPLIT_FAMILIES:
        if not any(split in resolved for split in family):
            continue
        for split in family:
            if split not in resolved:
                found = sources.get(split, required=False)
                if found is not None:
                    resolved[split] = found
    return resolved


def _check_families(resolved: dict, videos: list, notes: list, extra: dict) -> None:
    """Refuses a video in two splits of one family; records overlaps across families."""
    rows = {split: r.rows for split, r in resolved.items()}
    leak = ave_release.first_leak(rows)
    if leak:
        a, b, row = leak
        raise ReleaseError(
            f"{resolved[a].describe()} and {resolved[b].describe()} both list row {row} "
            f"({videos[row].video_id}): a video may be in only one of "
            f"{', '.join(ave_release.family_of(a))}"
        )
    overlaps = ave_release.cross_family_overlaps(rows)
    if any(overlaps.values()):  # both families present
        extra["split_overlaps"] = overlaps
    shared = [f"{a}/{b} {n}" for a, counts in overlaps.items() for b, n in counts.items() if n]
    if shared:
        notes.append(
            "the *_match splits share annotation rows with train/val/test (by design: another "
            f"partition of the same videos, for cross-modality localization): {', '.join(shared)}"
        )


def _source_note(config: ConvertConfig, found: _SplitRows) -> str | None:
    """Why a split's rows do not come from its own order file in h5_dir, if they do not."""
    name = ave_release.order_file_name(found.split)
    if found.source == "package":
        return f"no {name} in {config.h5_dir}: using the one shipped with ave_tf for {found.split}"
    if found.derived_from:
        return (
            f"no {name} in {config.h5_dir} and the annotations are not the shipped ones: "
            f"{found.split} {found.source} ({len(found.rows)} of {found.derived_from} videos)"
        )
    return None


def _noisy_job(release: _Release, notes: list, seed: int) -> SplitJob:
    """The background-only videos of weak training (`*_noisy.h5`): video-level labels only."""
    audio = release.array(ave_release.AUDIO_NOISY_FILE, ave_release.AUDIO_SHAPE)
    visual = release.array(ave_release.VISUAL_NOISY_FILE, ave_release.VISUAL_SHAPE)
    _check_same_rows(audio, visual)
    if release.has(ave_release.LABELS_NOISY_FILE):
        labels_path = release.path(ave_release.LABELS_NOISY_FILE)
        classes = ave_release.read_labels(labels_path, ave_release.VIDEO_LABELS_SHAPE)
        if len(classes) != audio.num_rows:
            raise ReleaseError(
                f"{labels_path} has {len(classes)} videos but {audio.path} has {audio.num_rows}"
            )
    else:
        classes = np.full([audio.num_rows], schema.BACKGROUND_CLASS)
        notes.append(f"no {ave_release.LABELS_NOISY_FILE}: noisy videos labelled background")
    names = ave_metadata.class_names()
    num_segments = audio.shape[1]
    videos = []
    for i, c in enumerate(classes):
        background = c == schema.BACKGROUND_CLASS
        # A background-only video is background in every segment; any other video-level
        # tag says nothing about where its event is.
        videos.append(
            VideoMeta(
                video_id=f"noisy_{i:04d}",
                class_index=int(c),
                class_name=names[c],
                event_start=0 if background else -1,
                event_end=0 if background else -1,
                annotation_index=-1,
                labels=np.full([num_segments], c) if background else None,
            )
        )
    rows = write_order.permutation(audio.num_rows, schema.NOISY_SPLIT, seed)
    return SplitJob(schema.NOISY_SPLIT, rows, audio, visual, [videos[r] for r in rows])


def _main_jobs(
    config: ConvertConfig, release: _Release, splits: list, notes: list, extra: dict
) -> list[SplitJob]:
    """The jobs of the main release's splits, their families checked, in write order."""
    videos, annotations = _main_videos(config, release, notes, extra)
    audio = release.array(ave_release.AUDIO_FILE, ave_release.AUDIO_SHAPE)
    visual = release.array(ave_release.VISUAL_FILE, ave_release.VISUAL_SHAPE)
    sources = _SplitSources(
        config.h5_dir, videos, audio.shape[1], annotations, extra["annotations"]
    )
    resolved = _resolve_splits(sources, splits)
    _check_families(resolved, videos, notes, extra)
    jobs = []
    for split in splits:
        found = resolved[split]
        note = _source_note(config, found)
        if note:
            notes.append(note)
        extra["order_sources"][split] = found.source
        rows = found.rows[write_order.permutation(len(found.rows), split, config.seed)]
        jobs.append(SplitJob(split, rows, audio, visual, [videos[r] for r in rows]))
    return jobs


def plan(config: ConvertConfig, release: _Release) -> tuple[list[SplitJob], list[str], dict]:
    """Checks every input that can be checked before the long work; returns the jobs."""
    splits = list(config.splits) or _default_splits(release)
    unknown = [s for s in splits if s not in schema.ALL_SPLITS]
    if unknown:
        raise ConvertError(f"--splits: unknown split(s) {unknown}; known: {schema.ALL_SPLITS}")
    notes: list[str] = []
    extra: dict = {
        "h5_dir": os.path.abspath(config.h5_dir),
        "order_sources": {},
        "write_order": write_order.provenance(
            config.seed, "each split's annotation rows (= h5 rows) in ascending row order"
        ),
    }
    jobs = []
    main_splits = [s for s in splits if s != schema.NOISY_SPLIT]
    if main_splits:
        jobs += _main_jobs(config, release, main_splits, notes, extra)
    if schema.NOISY_SPLIT in splits:
        jobs.append(_noisy_job(release, notes, config.seed))
    return jobs, notes, extra


@dataclasses.dataclass
class _Chunk:
    job: SplitJob
    start: int  # position in job.rows
    audio: np.ndarray
    visual: np.ndarray


def _narrow(
    array: ave_release.FeatureArray, values: np.ndarray, dtype: str, job: SplitJob, start: int
) -> np.ndarray:
    """Casts a chunk to the storage dtype; names the first video with NaN/Inf or overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        narrow = values.astype(dtype)
    finite = np.isfinite(narrow.reshape(len(narrow), -1)).all(axis=1)
    if finite.all():
        return narrow
    i = int(np.flatnonzero(~finite)[0])
    video = job.videos[start + i]
    problem = (
        "NaN or Inf"
        if not np.isfinite(values[i]).all()
        else f"values beyond {np.dtype(dtype).name} range (max |x| {np.abs(values[i]).max():.6g})"
    )
    raise ReleaseError(
        f"{array.path}: video index {int(job.rows[start + i])} ({video.video_id}, split "
        f"{job.split}) has {problem} in its features"
    )


def _read_chunks(jobs: list[SplitJob], config: ConvertConfig) -> Iterator[_Chunk]:
    """Each job's rows in write order, `chunk_videos` at a time (memory: one chunk per file)."""
    visual_dtype = "<f2" if config.visual_dtype == "float16" else "<f4"
    buffers: dict = {}  # one read buffer per file, reused (no fresh pages to fault in)
    for job in jobs:
        for start in range(0, len(job.rows), config.chunk_videos):
            rows = job.rows[start : start + config.chunk_videos]
            parts = []
            for array, dtype in ((job.audio, "<f4"), (job.visual, visual_dtype)):
                if array.path not in buffers:
                    shape = (config.chunk_videos, *array.shape[1:])
                    buffers[array.path] = np.empty(shape, array.dtype)
                values = array.read_rows(rows, out=buffers[array.path][: len(rows)])
                parts.append(_narrow(array, values, dtype, job, start))
            yield _Chunk(job, start, *parts)


def _encoded_videos(jobs: list[SplitJob], config: ConvertConfig) -> Iterator[tuple]:
    """(split, serialized record, num_segments) for every video of every job, in order."""
    for chunk in prefetch_in_thread(
        _read_chunks(jobs, config), config.prefetch_chunks, name="ave-release-reader"
    ):
        job = chunk.job
        for i in range(len(chunk.audio)):
            video: VideoMeta = job.videos[chunk.start + i]
            row = int(job.rows[chunk.start + i])
            try:
                record = example_codec.encode_video(
                    video_id=video.video_id,
                    audio=chunk.audio[i],
                    visual=chunk.visual[i],
                    labels=video.labels,
                    class_index=video.class_index,
                    class_name=video.class_name,
                    event_start=video.event_start,
                    event_end=video.event_end,
                    source=SOURCE,
                    annotation_index=video.annotation_index,
                    visual_dtype=config.visual_dtype,
                    name=f"{job.visual.path}: video index {row} ({video.video_id})",
                )
            except example_codec.RecordError as e:
                raise ReleaseError(str(e)) from None
            yield job.split, record, len(chunk.audio[i])


def _write_all(jobs: list[SplitJob], config: ConvertConfig, writer, progress) -> None:
    encoded = _encoded_videos(jobs, config)
    try:
        total = sum(len(job.rows) for job in jobs)
        for split, record, num_segments in progress(encoded, total):
            writer.write(split, record, num_segments)
    finally:
        encoded.close()  # stops and joins the reader thread before the h5 files are closed


def _progress_bar(show: bool) -> Callable:
    """progress(iterable, total) drawing a bar, or passing the items through."""
    if not show:
        return lambda iterable, total: iterable
    from ave_tf.utils.progress import progress

    return lambda iterable, total: progress(iterable, total, unit="videos")


def _dataset_info(config: ConvertConfig, notes: list, extra: dict) -> DatasetInfo:
    return DatasetInfo(
        name="ave",
        source=SOURCE,
        synthetic=False,
        description=(
            "AVE (Tian et al., ECCV 2018) public feature release: VGGish audio embeddings and "
            "VGG-19 pool5 visual maps per 1-s segment, converted from h5 by ave_convert."
        ),
        class_names=list(ave_metadata.class_names()),
        splits={},
        visual_dtype=config.visual_dtype,
        extra={**extra, "notes": notes},
    )


def convert(config: ConvertConfig, log: Callable[[str], None] = logging.info) -> ConvertResult:
    """Converts the release in `config.h5_dir`; returns what was written and how fast.

    Raises:
      ConvertError, ReleaseError, ave_metadata.AnnotationError, DatasetError: bad inputs or a
        failed write, each with a one-line message naming the file (and video index); the
        output directory is then left as it was.
    """
    if config.visual_dtype not in schema.VISUAL_DTYPES:
        raise ConvertError(f"--visual_dtype must be one of {schema.VISUAL_DTYPES}")
    if config.chunk_videos < 1 or config.prefetch_chunks < 1:
        raise ConvertError("--chunk_videos must be at least 1")
    if config.seed < 0:
        raise ConvertError(f"--seed must be >= 0, got {config.seed}")
    _refuse_existing_dataset(config)
    release = _Release(config.h5_dir)
    try:
        jobs, notes, extra = plan(config, release)
        for note in notes:
            log(note)
        info = _dataset_info(config, notes, extra)
        import tensorflow as tf

        from ave_tf.data.shard_writer import DatasetWriter

        progress = _progress_bar(config.show_progress)
        started = time.perf_counter()
        with DatasetWriter(
            config.output_dir,
            overwrite=config.overwrite,
            shard_bytes=config.shard_bytes,
            compression=config.compression,
        ) as writer:
            try:
                _write_all(jobs, config, writer, progress)
                info = writer.commit(info)
            except (OSError, tf.errors.OpError) as e:
                message = (getattr(e, "message", None) or str(e)).splitlines()[0]
                raise ConvertError(
                    f"{config.output_dir}: writing shards failed: {message}"
                ) from None
    finally:
        release.close()
    output_bytes = sum(
        os.path.getsize(os.path.join(config.output_dir, name))
        for split in info.splits.values()
        for name in split["files"]
    )
    return ConvertResult(
        info=info,
        videos=sum(len(job.rows) for job in jobs),
        input_bytes=sum(
            len(job.rows) * (job.audio.row_bytes + job.visual.row_bytes) for job in jobs
        ),
        output_bytes=output_bytes,
        seconds=time.perf_counter() - started,
    )
