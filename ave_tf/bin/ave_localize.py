r"""Raw video -> audio-visual events: a JSON timeline and a PNG plot.

  ave_localize VIDEO --saved_model=export/ave --out=results/ \
      --vgg19_weights=vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 \
      --vggish_weights=vggish.weights.h5
  ave_localize VIDEO --server=localhost:8500 --out=results/ --random_weights

Extracts the segment features of VIDEO (as `ave_extract` does; same weight flags), runs the
supervised signature of the exported model (`--saved_model`: a SavedModel folder or an export
base, whose newest version is used; or `--server`: a TF-Serving-compatible gRPC server), and
writes into --out:
  timeline.json: the video, per-second top class and probabilities, the events (class, start,
    end in seconds, confidence = mean probability of the class over the event);
  timeline.png: per-second class probabilities, the event bar, and a frame of each segment
    with the 7 x 7 attention map overlaid.
"""

import os

from absl import app, flags

from ave_tf.bin import ave_extract
from ave_tf.data import ave_metadata
from ave_tf.features.extraction import FeatureExtractor
from ave_tf.features.localization import (
    SERVING_DEFAULT,
    LocalizationError,
    run_model,
    saved_model_predictor,
    timeline_document,
)
from ave_tf.features.timeline_plot import MAX_FRAMES, plot_timeline
from ave_tf.features.video_decoding import VideoError
from ave_tf.features.weight_files import WeightsError
from ave_tf.serving.timeline import event_timeline
from ave_tf.utils.atomic_files import write_json_atomic
from ave_tf.utils.cli import fail, run_main

FLAGS = flags.FLAGS

TIMELINE_JSON = "timeline.json"
TIMELINE_PNG = "timeline.png"


def define_flags() -> None:
    flags.DEFINE_string("saved_model", None, "SavedModel folder, or an export base (newest).")
    flags.DEFINE_string("server", None, "host:port of a TF-Serving-compatible gRPC server.")
    flags.DEFINE_string("model_name", "ave", "Model name on --server.")
    flags.DEFINE_string("signature_name", SERVING_DEFAULT, "The supervised signature.")
    flags.DEFINE_float("timeout", 60.0, "Seconds per gRPC attempt (--server).")
    flags.DEFINE_integer("retries", 2, "Extra gRPC attempts on UNAVAILABLE/DEADLINE_EXCEEDED.")
    flags.DEFINE_string("out", None, "Output folder for timeline.json and timeline.png.")
    flags.DEFINE_integer("max_plot_frames", MAX_FRAMES, "Most segment frames in the PNG.")
    # Videos of any length: the release audio framing would drift 0.04 s per second.
    ave_extract.define_extractor_flags(default_protocol="timed")


def _predictor():
    if FLAGS.server:
        from ave_tf.serving import client  # gRPC stack only when asked for

        def predict(inputs):
            return client.predict(
                FLAGS.server,
                inputs,
                FLAGS.model_name,
                FLAGS.signature_name,
                FLAGS.timeout,
                FLAGS.retries,
            )

        predict.description = {
            "server": FLAGS.server,
            "model_name": FLAGS.model_name,
            "signature": FLAGS.signature_name,
        }
        return predict
    return saved_model_predictor(FLAGS.saved_model, FLAGS.signature_name)


def main(argv) -> None:
    if len(argv) != 2:
        raise app.UsageError("give exactly one video path: ave_localize VIDEO --out=DIR ...")
    video = argv[1]
    if bool(FLAGS.saved_model) == bool(FLAGS.server):
        raise app.UsageError("give one of --saved_model or --server")
    if not FLAGS.out:
        raise app.UsageError("--out is required")
    if FLAGS.max_plot_frames < 1:
        raise app.UsageError("--max_plot_frames must be >= 1")
    config = ave_extract.extraction_config_from_flags()
    class_names = ave_metadata.class_names()
    expected_errors = (WeightsError, LocalizationError, VideoError)
    if FLAGS.server:
        from ave_tf.serving.client import ServingError  # gRPC stack only when asked for

        expected_errors += (ServingError,)
    try:
        # Cheap checks first: weight files and the model, before any decoding.
        config.check_weight_files()
        predict = _predictor()
        extractor = FeatureExtractor(config)
        features = extractor.extract(video, keep_preview_frames=True)
        result = run_model(features, predict, class_names)
    except expected_errors as e:
        fail(str(e))
    events = event_timeline(result.probabilities, class_names)
    document = timeline_document(
        features, result, events, class_names, predict.description, config.fingerprint()
    )
    os.makedirs(FLAGS.out, exist_ok=True)
    write_json_atomic(os.path.join(FLAGS.out, TIMELINE_JSON), document)
    plot_timeline(
        os.path.join(FLAGS.out, TIMELINE_PNG),
        result.probabilities,
        events,
        class_names,
        frames=features.preview_frames,
        attention=result.attention,
        title=os.path.basename(video),
        max_frames=FLAGS.max_plot_frames,
    )
    for event in events:
        print(
            f"{event['start']:6.1f} - {event['end']:6.1f} s  {event['class']}  "
            f"({event['confidence']:.2f})"
        )
    if not events:
        print("no audio-visual event found")
    print(f"wrote {os.path.join(FLAGS.out, TIMELINE_JSON)} and {TIMELINE_PNG}")


def run() -> None:
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
