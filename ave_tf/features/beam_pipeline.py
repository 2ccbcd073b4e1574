r"""Extraction of many videos as an Apache Beam pipeline (optional: apache-beam[tfrecord]).

Needs `pip install "apache-beam[tfrecord]"` (the extra brings the CRC library TFRecord
writing needs; tested by `make test-beam` with apache-beam 2.77 beside TF 2.21 and protobuf
6.33, constraints-beam.txt). DirectRunner on one machine; Dataflow, Flink or Spark at scale
(pass their pipeline options after the flags below; docs/training.md, "Scaling out", has
the runner flags). Each worker builds the networks once (`DoFn.setup`) and turns videos into
serialized records; failures go to `errors.jsonl` instead of stopping the pipeline.

  python -m ave_tf.features.beam_pipeline --video_dir=videos/ --output_dir=data/extracted \
      --vgg19_weights=... --vggish_weights=... -- --runner=DirectRunner --direct_num_workers=2

Shards are written into a staging folder inside the output directory and moved into place
(`<split>-NNNNN-of-MMMMM.tfrecord`, then dataset.json last) only when the pipeline succeeded.
The output directory must be a file system path that the launching machine and every worker
can reach (a local folder for the DirectRunner, a shared mount for a cluster).
Resuming is left to the runner (Beam retries failed bundles); `ave_extract` is the resumable
single-machine path.
"""

import argparse
import dataclasses
import glob
import json
import os
import shutil
import sys
import tempfile

from ave_tf.data import schema, shard_index
from ave_tf.data.ave_metadata import AnnotationError
from ave_tf.data.dataset_info import DatasetError, write_dataset_info
from ave_tf.data.example_codec import RecordError
from ave_tf.data.shard_writer import existing_dataset_files
from ave_tf.features import dataset_extraction, log_mel
from ave_tf.features.extraction import (
    PROTOCOLS,
    ExtractionConfig,
    FeatureExtractor,
    video_id_for,
)
from ave_tf.features.video_decoding import VideoError
from ave_tf.features.weight_files import WeightsError

METRICS_NAMESPACE = "ave_extract"
ERRORS_FILE = "errors.jsonl"


def _import_beam():
    try:
        import apache_beam as beam
    except ImportError:
        raise ImportError(
            'the Beam pipeline needs apache-beam: pip install "apache-beam[tfrecord]" '
            "(or use ave_extract, which needs nothing more)"
        ) from None
    return beam


def make_extract_fn(config: ExtractionConfig, labels_by_id: dict, visual_dtype: str):
    """A DoFn: video path -> serialized record (main output) or an error dict ("errors")."""
    beam = _import_beam()

    class ExtractVideo(beam.DoFn):
        def __init__(self):
            super().__init__()
            self.videos = beam.metrics.Metrics.counter(METRICS_NAMESPACE, "videos")
            self.segments = beam.metrics.Metrics.counter(METRICS_NAMESPACE, "segments")
            self.failed = beam.metrics.Metrics.counter(METRICS_NAMESPACE, "failed")

        def setup(self):
            self.extractor = FeatureExtractor(config)

        def process(self, path):
            try:
                features = self.extractor.extract(path)
                record = dataset_extraction.encode_record(
                    features, labels_by_id.get(features.video_id), visual_dtype
                )
            except (VideoError, RecordError) as e:
                self.failed.inc()
                yield beam.pvalue.TaggedOutput("errors", {"video": path, "error": str(e)})
                return
            self.videos.inc()
            self.segments.inc(features.num_segments)
            yield record

    return ExtractVideo()


@dataclasses.dataclass
class BeamResult:
    videos: int
    segments: int
    failed: int
    errors_file: str


def run_pipeline(
    videos: list[str],
    output_dir: str,
    config: ExtractionConfig,
    *,
    split: str = "test",
    annotations: str | None = None,
    overwrite: bool = False,
    visual_dtype: str = "float32",
    num_shards: int = 0,
    pipeline_args: list[str] | None = None,
) -> BeamResult:
    """Runs the pipeline and publishes the dataset (see the module docstring).

    Args:
      num_shards: output shards; 0 lets the runner choose.
      pipeline_args: Beam pipeline options, e.g. ["--runner=DirectRunner"].
    """
    beam = _import_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    labels_by_id = dataset_extraction.check_run(output_dir, config, annotations, overwrite)
    if len({video_id_for(v) for v in videos}) != len(videos):
        raise ValueError("video ids (file names without extension) must be unique")
    os.makedirs(output_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".staging-beam-", dir=output_dir)
    try:
        options = PipelineOptions(pipeline_args or [])
        with beam.Pipeline(options=options) as pipeline:
            results = (
                pipeline
                | "Videos" >> beam.Create(videos)
                | "Reshuffle" >> beam.Reshuffle()  # spread the videos over workers
                | "Extract"
                >> beam.ParDo(make_extract_fn(config, labels_by_id, visual_dtype)).with_outputs(
                    "errors", main="records"
                )
            )
            _ = results.records | "WriteShards" >> beam.io.WriteToTFRecord(
                os.path.join(staging, split),
                file_name_suffix=".tfrecord",
                num_shards=num_shards,
                shard_name_template="-SSSSS-of-NNNNN",
            )
            _ = (
                results.errors
                | "ErrorLines" >> beam.Map(json.dumps, sort_keys=True)
                | "WriteErrors"
                >> beam.io.WriteToText(
                    os.path.join(staging, "errors"),
                    file_name_suffix=".jsonl",
                    num_shards=1,
                    shard_name_template="",
                )
            )
        metrics = pipeline.result.metrics().query(
            beam.metrics.MetricsFilter().with_namespace(METRICS_NAMESPACE)
        )
        counts = {c.key.metric.name: c.committed for c in metrics["counters"]}
        return _publish(staging, output_dir, split, visual_dtype, config, counts)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging, output_dir, split, visual_dtype, config, counts) -> BeamResult:
    """Moves the staged shards into place, then writes dataset.json (last)."""
    staged = sorted(glob.glob(os.path.join(staging, f"{split}-*-of-*.tfrecord")))
    errors_file = os.path.join(output_dir, ERRORS_FILE)
    staged_errors = os.path.join(staging, "errors.jsonl")
    if not os.path.exists(staged_errors):
        open(staged_errors, "w").close()
    result = BeamResult(
        videos=int(counts.get("videos", 0)),
        segments=int(counts.get("segments", 0)),
        failed=int(counts.get("failed", 0)),
        errors_file=errors_file,
    )
    os.replace(staged_errors, errors_file)
    if not result.videos:
        return result
    for path in reversed(existing_dataset_files(output_dir)):
        os.remove(path)
    names, counts = [], []
    for path in staged:
        counts.append(shard_index.count_records(path).records)
        names.append(os.path.basename(path))
        os.replace(path, os.path.join(output_dir, names[-1]))
    write_dataset_info(
        output_dir,
        dataset_extraction.extracted_dataset_info(
            config,
            visual_dtype,
            "Features extracted from raw videos by the ave_tf Beam pipeline.",
            splits={
                split: {
                    "videos": result.videos,
                    "segments": result.segments,
                    "shards": len(names),
                    "files": names,
                    "shard_records": counts,
                }
            },
            runner="beam",
            # Videos are spread over workers by a Reshuffle, so shards hold them in a random
            # order the runner chooses: mixed classes, but not reproducible from a seed.
            write_order={
                "shuffled": True,
                "seed": None,
                "method": "beam.Reshuffle before WriteToTFRecord (runner-dependent)",
                "source_order": "the videos in the order they were given",
            },
        ),
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", action="append", default=[], help="A video (repeatable).")
    parser.add_argument("--video_dir", help="A folder of videos.")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--annotations")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--visual_dtype", default="float32", choices=schema.VISUAL_DTYPES)
    parser.add_argument("--num_shards", type=int, default=0)
    parser.add_argument("--vgg19_weights")
    parser.add_argument("--vggish_weights")
    parser.add_argument("--vggish_pca_params")
    parser.add_argument("--random_weights", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames_per_second", type=int, default=16)
    parser.add_argument("--frame_batch_size", type=int, default=32)
    parser.add_argument("--pad_last", action="store_true")
    parser.add_argument("--protocol", default="release", choices=PROTOCOLS)
    parser.add_argument("--audio_framing", default="", choices=["", *log_mel.FRAMINGS])
    args, pipeline_args = parser.parse_known_args(argv)
    config = ExtractionConfig(
        vgg19_weights=args.vgg19_weights,
        vggish_weights=args.vggish_weights,
        vggish_pca_params=args.vggish_pca_params,
        random_weights=args.random_weights,
        seed=args.seed,
        frames_per_second=args.frames_per_second,
        frame_batch_size=args.frame_batch_size,
        pad_last=args.pad_last,
        protocol=args.protocol,
        audio_framing=args.audio_framing,
    )
    try:
        videos = dataset_extraction.find_videos(args.video, args.video_dir)
        result = run_pipeline(
            videos,
            args.output_dir,
            config,
            split=args.split,
            annotations=args.annotations,
            overwrite=args.overwrite,
            visual_dtype=args.visual_dtype,
            num_shards=args.num_shards,
            pipeline_args=[a for a in pipeline_args if a != "--"],
        )
    except (DatasetError, WeightsError, AnnotationError, ImportError, ValueError) as e:
        print(f"beam_pipeline: error: {e}", file=sys.stderr)
        return 1
    print(
        f"{result.videos} videos ({result.segments} segments) written, {result.failed} failed "
        f"(see {result.errors_file})"
    )
    return 1 if result.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
