"""Many videos -> a dataset directory of TFRecord shards (what `ave_extract` runs).

For each input video: features from the per-video cache when present (resume), else extracted
and cached; a video that fails (`VideoError`) is recorded in `errors.json` and the others go
on. At the end the shards are rebuilt from the cache with `DatasetWriter` (atomic, dataset.json
last): they hold exactly the videos of this run that succeeded, in a seeded random order
(`write_order`, seeded with the extraction seed: class-grouped inputs give mixed shards), as split
`--split` (default "test"), source "extracted". Segment labels come from an AVE-style
annotation file when one is given (videos matched by id), else the records are unlabeled.
"""

import dataclasses
import json
import logging
import os

from ave_tf.data import ave_metadata, write_order
from ave_tf.data.dataset_info import DatasetError, DatasetInfo, load_dataset_info
from ave_tf.data.example_codec import RecordError, encode_video
from ave_tf.data.shard_writer import DEFAULT_SHARD_BYTES, DatasetWriter, existing_dataset_files
from ave_tf.features.extraction import (
    ExtractionConfig,
    FeatureExtractor,
    VideoFeatures,
    video_id_for,
)
from ave_tf.features.feature_cache import FeatureCache
from ave_tf.features.video_decoding import VideoError
from ave_tf.utils.atomic_files import write_json_atomic
from ave_tf.utils.progress import progress

SOURCE = "extracted"
ERRORS_FILE = "errors.json"
VIDEO_EXTENSIONS = (
    ".mp4",
    ".webm",
    ".mkv",
    ".avi",
    ".mov",
    ".m4v",
    ".flv",
    ".mpg",
    ".mpeg",
    ".ogv",
    ".3gp",
)


@dataclasses.dataclass
class ExtractionReport:
    """What a run did.

    Attributes:
      videos: input videos.
      extracted: videos whose features were computed in this run.
      cached: videos whose features came from the cache of an earlier run.
      failed: [{"video": path, "error": message}] for videos that could not be processed.
      written: videos in the shards.
      errors_file: path of errors.json.
    """

    videos: int = 0
    extracted: int = 0
    cached: int = 0
    failed: list = dataclasses.field(default_factory=list)
    written: int = 0
    errors_file: str = ""

    def summary(self) -> str:
        return (
            f"{self.videos} videos: {self.extracted} extracted, {self.cached} cached, "
            f"{len(self.failed)} failed; {self.written} written"
        )


def find_videos(videos: list[str] | None = None, video_dir: str | None = None) -> list[str]:
    """The explicit `videos` (kept as given) plus the video files directly in `video_dir`.

    Raises:
      DatasetError: `video_dir` is missing or holds no video file, or no input at all.
    """
    found = list(videos or [])
    if video_dir:
        if not os.path.isdir(video_dir):
            raise DatasetError(f"--video_dir: {video_dir} is not a directory")
        in_dir = sorted(
            os.path.join(video_dir, name)
            for name in os.listdir(video_dir)
            if name.lower().endswith(VIDEO_EXTENSIONS)
            and os.path.isfile(os.path.join(video_dir, name))
        )
        if not in_dir:
            raise DatasetError(
                f"--video_dir: {video_dir} holds no video file ({', '.join(VIDEO_EXTENSIONS)})"
            )
        found += in_dir
    if not found:
        raise DatasetError("no input videos: give --video or --video_dir")
    return found


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    """Refuses to replace a dataset that this tool did not make, unless `overwrite`."""
    if overwrite or not existing_dataset_files(output_dir):
        return
    try:
        source = load_dataset_info(output_dir).source
    except DatasetError:
        source = None
    if source != SOURCE:
        raise DatasetError(
            f"{output_dir}: already holds a dataset (source {source!r}) that ave_extract did "
            "not make; pass --overwrite to replace it"
        )


def annotation_index(path: str | None) -> dict:
    """Video id -> its AVE annotation row, from an annotation file (empty without one)."""
    if not path:
        return {}
    index = {}
    for row in ave_metadata.read_annotations(path):
        # AVE lists a few ids twice with different classes; the first row wins (logged).
        if row.video_id in index:
            logging.info(
                "%s: %s annotated more than once; using row %d",
                path,
                row.video_id,
                index[row.video_id].row,
            )
            continue
        index[row.video_id] = row
    return index


def encode_record(features: VideoFeatures, annotation, visual_dtype: str) -> bytes:
    """One serialized SequenceExample; labeled from `annotation` (None: unlabeled)."""
    t = features.num_segments
    if annotation is None:
        return encode_video(
            video_id=features.video_id,
            audio=features.audio,
            visual=features.visual,
            labels=None,
            class_index=-1,
            class_name="",
            event_start=-1,
            event_end=-1,
            source=SOURCE,
            visual_dtype=visual_dtype,
            name=features.path,
        )
    return encode_video(
        video_id=features.video_id,
        audio=features.audio,
        visual=features.visual,
        labels=ave_metadata.segment_labels(annotation, t),
        class_index=ave_metadata.class_index(annotation.category),
        class_name=annotation.category,
        event_start=min(annotation.start, t),
        event_end=min(annotation.end, t),
        source=SOURCE,
        annotation_index=annotation.row,
        visual_dtype=visual_dtype,
        name=features.path,
    )


def check_run(
    output_dir: str, config: ExtractionConfig, annotations: str | None, overwrite: bool
) -> dict:
    """The checks before any video is read; returns `annotation_index(annotations)`.

    Raises:
      DatasetError: output_dir holds a dataset of another source (and not `overwrite`).
      WeightsError: a weight file is missing.
      AnnotationError: a malformed annotation file.
    """
    check_output_dir(output_dir, overwrite)
    config.check_weight_files()
    return annotation_index(annotations)


def extracted_dataset_info(
    config: ExtractionConfig, visual_dtype: str, description: str, splits: dict, **extra
) -> DatasetInfo:
    """The dataset.json of extracted features; `extra` follows the extraction fingerprint."""
    return DatasetInfo(
        name="ave_extracted",
        source=SOURCE,
        synthetic=False,
        description=description,
        class_names=list(ave_metadata.class_names()),
        splits=splits,
        visual_dtype=visual_dtype,
        extra={"extraction": json.loads(json.dumps(config.fingerprint())), **extra},
    )


def run_extraction(
    videos: list[str],
    output_dir: str,
    config: ExtractionConfig,
    *,
    split: str = "test",
    annotations: str | None = None,
    overwrite: bool = False,
    visual_dtype: str = "float32",
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    verbose: bool = True,
) -> ExtractionReport:
    """Extracts `videos` into the dataset directory `output_dir` (see the module docstring).

    The networks are built only when some video is not cached, so a finished run that is
    repeated does no network work.

    Raises:
      DatasetError: output_dir holds a dataset of another source (and not `overwrite`).
      WeightsError: a weight file is missing or unusable.
      AnnotationError: a malformed annotation file.
    """
    labels_by_id = check_run(output_dir, config, annotations, overwrite)
    os.makedirs(output_dir, exist_ok=True)
    cache = FeatureCache(output_dir, config.fingerprint())
    report = ExtractionReport(videos=len(videos), errors_file=os.path.join(output_dir, ERRORS_FILE))
    extractor = None
    succeeded: list[tuple[str, str]] = []  # (video id, path)
    seen: dict[str, str] = {}

    def record_failure(path: str, message: str) -> None:
        report.failed.append({"video": path, "error": message})
        _write_errors(report)  # kept current, so an interrupted run still reports its failures

    for path in progress(videos, total=len(videos), unit="videos", verbose=verbose):
        video_id = video_id_for(path)
        if video_id in seen:
            record_failure(path, f"{path}: duplicate video id {video_id!r} (also {seen[video_id]})")
            continue
        seen[video_id] = path
        if os.path.isfile(path) and cache.load(video_id, path) is not None:
            report.cached += 1
            succeeded.append((video_id, path))
            continue
        if extractor is None:
            extractor = FeatureExtractor(config)
        try:
            features = extractor.extract(path)
        except VideoError as e:
            record_failure(path, str(e))
            continue
        cache.save(features)
        report.extracted += 1
        succeeded.append((video_id, path))

    if succeeded:
        report.written = _write_shards(
            output_dir,
            cache,
            succeeded,
            labels_by_id,
            record_failure,
            split=split,
            visual_dtype=visual_dtype,
            shard_bytes=shard_bytes,
            config=config,
        )
    _write_errors(report)
    return report


def _write_errors(report: ExtractionReport) -> None:
    write_json_atomic(
        report.errors_file,
        {"videos": report.videos, "failed": report.failed, "summary": report.summary()},
    )


def _write_shards(
    output_dir,
    cache,
    succeeded,
    labels_by_id,
    record_failure,
    *,
    split,
    visual_dtype,
    shard_bytes,
    config,
) -> int:
    """Streams the cached videos into shards; returns how many were written."""
    written = labeled = 0
    with DatasetWriter(output_dir, overwrite=True, shard_bytes=shard_bytes) as writer:
        for video_id, path in write_order.shuffled(succeeded, split, config.seed):
            features = cache.load(video_id, path)
            if features is None:
                raise DatasetError(f"{cache.path(video_id)}: cache entry vanished during the run")
            annotation = labels_by_id.get(video_id)
            try:
                serialized = encode_record(features, annotation, visual_dtype)
            except RecordError as e:  # e.g. visual features beyond the float16 range
                record_failure(path, str(e))
                continue
            writer.write(split, serialized, features.num_segments)
            written += 1
            labeled += annotation is not None
        if not written:
            return 0  # leaving the block without commit() discards the staging folder
        writer.commit(
            extracted_dataset_info(
                config,
                visual_dtype,
                "Features extracted from raw videos by ave_extract: VGGish audio embeddings "
                "and VGG-19 pool5 maps averaged over sampled frames, one entry per 1-s segment.",
                splits={},
                labeled_videos=labeled,
                write_order=write_order.provenance(
                    config.seed, "the videos in the order they were given"
                ),
            )
        )
    return written
