r"""Raw videos -> VGG-19 + VGGish segment features -> TFRecord shards in the dataset layout.

  ave_extract --video_dir=videos/ --output_dir=data/extracted \
      --vgg19_weights=vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 \
      --vggish_weights=vggish.weights.h5
  ave_extract --video=clip.mp4 --output_dir=/tmp/smoke --random_weights

The shards (split --split, default "test") can be read by `ave_eval` / `ave_train`; give
--annotations (AVE `Annotations.txt` format, matched by video id = file name without
extension) for labeled records. Segments are whole seconds; the last partial second is dropped
unless --pad_last.

Resumable: each video's features are cached in OUTPUT_DIR/.features/ as soon as they are
computed; rerunning the same command skips them and rebuilds the shards. Videos that cannot
be processed (corrupt file, no audio or video stream, shorter than 1 s) are listed in
OUTPUT_DIR/errors.json while the others are still written; the exit code is then 2.
"""

from absl import app, flags

from ave_tf.bin import _convolution_kernels  # noqa: F401 - before TensorFlow is imported
from ave_tf.data import schema
from ave_tf.data.ave_metadata import AnnotationError
from ave_tf.data.dataset_info import DatasetError
from ave_tf.features import log_mel
from ave_tf.features.dataset_extraction import find_videos, run_extraction
from ave_tf.features.extraction import PROTOCOLS, ExtractionConfig
from ave_tf.features.video_decoding import RESAMPLERS
from ave_tf.features.weight_files import VGG19_WEIGHTS_FILE, VGGISH_WEIGHTS_FILE, WeightsError
from ave_tf.utils.cli import fail, run_main

FLAGS = flags.FLAGS


def define_extractor_flags(default_protocol: str = "release") -> None:
    """The weight and feature flags shared by `ave_extract` and `ave_localize`."""
    flags.DEFINE_string(
        "vgg19_weights", None, f"Keras VGG-19 ImageNet weights ({VGG19_WEIGHTS_FILE})."
    )
    flags.DEFINE_string(
        "vggish_weights",
        None,
        f"VGGish Keras weights ({VGGISH_WEIGHTS_FILE}; made by ave_tf.features.convert_vggish).",
    )
    flags.DEFINE_string(
        "vggish_pca_params", None, "Optional vggish_pca_params.npz: PCA + 8-bit audio features."
    )
    flags.DEFINE_bool(
        "random_weights", False, "Random network weights instead of the files (smoke runs)."
    )
    flags.DEFINE_integer("seed", 0, "Seed of --random_weights.")
    flags.DEFINE_integer("frames_per_second", 16, "Frames sampled per 1-s segment (paper: 16).")
    flags.DEFINE_integer("frame_batch_size", 32, "Frames per VGG-19 forward pass.")
    flags.DEFINE_bool(
        "pad_last", False, "Keep a trailing partial second (>= 0.25 s) as a padded segment."
    )
    flags.DEFINE_enum(
        "resampler",
        "auto",
        list(RESAMPLERS),
        "16 kHz resampler: auto = ffmpeg; tfio needs the optional tensorflow-io.",
    )
    flags.DEFINE_enum(
        "protocol",
        default_protocol,
        list(PROTOCOLS),
        "release = how the public AVE features were made (frames by index, OpenCV-style "
        "resize, a VGGish example every 0.96 s); timed = frames by time, FFmpeg resize, the "
        "example starting at each segment (no audio drift on long videos).",
    )
    flags.DEFINE_enum(
        "audio_framing",
        None,
        list(log_mel.FRAMINGS),
        "VGGish example per segment: aligned = starts at the segment; release = every 0.96 s "
        "(default: the --protocol's).",
    )
    flags.DEFINE_bool("embedding_relu", True, "ReLU on the VGGish embedding (the AVE release).")


def extraction_config_from_flags() -> ExtractionConfig:
    if FLAGS.frames_per_second < 1:
        raise app.UsageError("--frames_per_second must be >= 1")
    if FLAGS.frame_batch_size < 1:
        raise app.UsageError("--frame_batch_size must be >= 1")
    return ExtractionConfig(
        vgg19_weights=FLAGS.vgg19_weights,
        vggish_weights=FLAGS.vggish_weights,
        vggish_pca_params=FLAGS.vggish_pca_params,
        random_weights=FLAGS.random_weights,
        seed=FLAGS.seed,
        frames_per_second=FLAGS.frames_per_second,
        pad_last=FLAGS.pad_last,
        resampler=FLAGS.resampler,
        protocol=FLAGS.protocol,
        audio_framing=FLAGS.audio_framing or "",
        embedding_relu=FLAGS.embedding_relu,
        frame_batch_size=FLAGS.frame_batch_size,
    )


def define_flags() -> None:
    flags.DEFINE_multi_string("video", [], "A video file (repeatable).")
    flags.DEFINE_string(
        "video_dir", None, "A folder of videos (mp4, webm, mkv, ...; not recursive)."
    )
    flags.DEFINE_string("output_dir", None, "The dataset directory to write.")
    flags.DEFINE_string("split", "test", "Split name of the records.")
    flags.DEFINE_string("annotations", None, "Optional AVE-format annotations for segment labels.")
    flags.DEFINE_bool("overwrite", False, "Replace a dataset of another source in --output_dir.")
    flags.DEFINE_enum(
        "visual_dtype", "float32", list(schema.VISUAL_DTYPES), "Visual storage dtype."
    )
    flags.DEFINE_integer("shard_mb", 200, "Target shard size in MiB.")
    flags.DEFINE_bool("progress", True, "Show a progress bar.")
    define_extractor_flags()


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not FLAGS.output_dir:
        raise app.UsageError("--output_dir is required")
    if not FLAGS.video and not FLAGS.video_dir:
        raise app.UsageError("give --video or --video_dir")
    if FLAGS.shard_mb < 1:
        raise app.UsageError("--shard_mb must be >= 1")
    config = extraction_config_from_flags()
    try:
        videos = find_videos(FLAGS.video, FLAGS.video_dir)
        report = run_extraction(
            videos,
            FLAGS.output_dir,
            config,
            split=FLAGS.split,
            annotations=FLAGS.annotations,
            overwrite=FLAGS.overwrite,
            visual_dtype=FLAGS.visual_dtype,
            shard_bytes=FLAGS.shard_mb << 20,
            verbose=FLAGS.progress,
        )
    except (WeightsError, DatasetError, AnnotationError, OSError) as e:
        fail(e)
    print(f"{report.summary()} -> {FLAGS.output_dir}", flush=True)
    for failure in report.failed:
        print(f"  failed: {failure['error']}", flush=True)
    if report.failed:
        fail(f"{len(report.failed)} of {report.videos} videos failed; see {report.errors_file}")


def run() -> None:
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
