r"""Queries a TF-Serving-compatible server and prints each video's event timeline.

--input is a TFRecord of SequenceExamples (posted as is to `parse_and_predict`, or parsed here
for the other signatures) or a folder with `audio.npy` [(B,) T, 128] and `visual.npy`
[(B,) T, 7, 7, 512]. Works with tensorflow_model_server and ave_serve alike.

Example:

  ave_query --server=localhost:8500 --input=tfrecords/ave_synthetic/test-00000-of-00004.tfrecord \
      --max_videos=3 --output_json=/tmp/timeline.json
"""

import os
import sys

from absl import app, flags

from ave_tf.utils.cli import run_main

FLAGS = flags.FLAGS

AUTO = "auto"


def define_flags() -> None:
    flags.DEFINE_string("server", None, "host:port of the gRPC server.")
    flags.DEFINE_string("input", None, "A .tfrecord file, or a folder with audio.npy, visual.npy.")
    flags.DEFINE_string("model_name", "ave", "Model name on the server.")
    flags.DEFINE_integer("model_version", None, "Ask for this version (default: the newest).")
    flags.DEFINE_string(
        "signature",
        AUTO,
        "Signature to call; auto = parse_and_predict for a TFRecord, serving_default for .npy.",
    )
    flags.DEFINE_float("timeout", 30.0, "Seconds per request attempt.")
    flags.DEFINE_integer("retries", 2, "Extra attempts when the server is unavailable or slow.")
    flags.DEFINE_integer("max_videos", 0, "Query at most this many videos (0 = all).")
    flags.DEFINE_integer("batch_size", 8, "Videos per request.")
    flags.DEFINE_string("output_json", None, "Also write the timelines to this JSON file.")


def _fail(message: str) -> None:
    from ave_tf.utils.cli import fail

    fail(message)


def _read_tfrecord(path: str, limit: int) -> list[bytes]:
    import tensorflow as tf

    with open(path, "rb") as f:
        compression = "GZIP" if f.read(2) == b"\x1f\x8b" else ""
    records = []
    try:
        for record in tf.data.TFRecordDataset(path, compression_type=compression):
            records.append(record.numpy())
            if limit and len(records) >= limit:
                break
    except tf.errors.OpError as e:
        _fail(f"--input={path}: not a readable TFRecord file ({e.message.splitlines()[0]})")
    if not records:
        _fail(f"--input={path}: no records")
    return records


def _parse_locally(records: list[bytes]) -> dict:
    from ave_tf.data import parser

    features = parser.parse_batch(records)
    return {key: value.numpy() for key, value in features.items()}


def _read_npy_dir(path: str, limit: int):
    import numpy as np

    arrays = {}
    for name, rank in (("audio", 3), ("visual", 5)):
        file = os.path.join(path, f"{name}.npy")
        if not os.path.isfile(file):
            _fail(f"--input={path}: {name}.npy not found")
        try:
            array = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as e:
            _fail(f"{file}: not a .npy array ({e})")
        if array.ndim == rank - 1:
            array = array[None]
        if array.ndim != rank:
            _fail(f"{file}: expected rank {rank - 1} or {rank}, got shape {list(array.shape)}")
        arrays[name] = array.astype(np.float32, copy=False)[: limit or None]
    if arrays["audio"].shape[:2] != arrays["visual"].shape[:2]:
        _fail(
            f"--input={path}: audio {list(arrays['audio'].shape)} and visual "
            f"{list(arrays['visual'].shape)} differ in videos or segments"
        )
    return arrays


def _batches(total: int, size: int):
    for start in range(0, total, size):
        yield slice(start, min(total, start + size))


def _query(client, inputs: dict, signature: str) -> dict:
    from ave_tf.serving.client import ServingError

    try:
        return client.predict(
            inputs, FLAGS.model_name, signature, version=FLAGS.model_version, timeout=None
        )
    except ServingError as e:
        _fail(str(e))


def _video_timelines(outputs: dict, video_ids: list[str], class_names) -> list[dict]:
    import numpy as np

    from ave_tf.export import signatures as sig
    from ave_tf.serving.timeline import event_timeline

    key = next((k for k in (sig.PROBABILITIES, sig.SEGMENT_SCORES) if k in outputs), None)
    if key is None:
        _fail(
            f"--signature={FLAGS.signature}: outputs {sorted(outputs)} hold no per-segment "
            "probabilities (use serving_default, supervised, weak or parse_and_predict)"
        )
    probabilities = outputs[key]
    lengths = outputs.get(sig.NUM_SEGMENTS)
    server_ids = outputs.get(sig.VIDEO_ID)
    videos = []
    for i in range(probabilities.shape[0]):
        steps = int(lengths[i]) if lengths is not None else probabilities.shape[1]
        video_id = video_ids[i]
        if server_ids is not None and server_ids[i]:
            video_id = server_ids[i].decode("utf-8")
        events = event_timeline(probabilities[i], class_names, num_segments=steps)
        video = {"video_id": video_id, "num_segments": steps, "events": events}
        if sig.VIDEO_PROBABILITIES in outputs:
            k = int(np.argmax(outputs[sig.VIDEO_PROBABILITIES][i]))
            video["video_class"] = class_names[k]
        videos.append(video)
    return videos


def _print_video(video: dict) -> None:
    header = f"{video['video_id']} ({video['num_segments']} s)"
    if "video_class" in video:
        header += f", video class: {video['video_class']}"
    print(header)
    if not video["events"]:
        print("  no audio-visual event")
    for event in video["events"]:
        print(
            f"  {event['class']:<28} {event['start']:>5.0f} s - {event['end']:>3.0f} s"
            f"   confidence {event['confidence']:.3f}"
        )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    for name in ("server", "input"):
        if not getattr(FLAGS, name):
            raise app.UsageError(f"--{name} is required")
    if FLAGS.batch_size < 1 or FLAGS.max_videos < 0 or FLAGS.retries < 0 or FLAGS.timeout <= 0:
        raise app.UsageError("--batch_size >= 1, --max_videos >= 0, --retries >= 0, --timeout > 0")
    if not os.path.exists(FLAGS.input):
        _fail(f"--input={FLAGS.input}: no such file or folder")

    import numpy as np

    from ave_tf.data.ave_metadata import class_names
    from ave_tf.export import signatures as sig
    from ave_tf.serving.client import ServingClient
    from ave_tf.utils.atomic_files import write_json_atomic

    is_records = os.path.isfile(FLAGS.input)
    signature = FLAGS.signature
    if signature == AUTO:
        signature = sig.PARSE_AND_PREDICT if is_records else sig.SERVING_DEFAULT
    if is_records:
        records = _read_tfrecord(FLAGS.input, FLAGS.max_videos)
        total = len(records)
        if signature != sig.PARSE_AND_PREDICT:
            features = _parse_locally(records)
            video_ids = [v.decode("utf-8") for v in features["video_id"]]
            lengths = features["num_segments"]
        else:
            video_ids = [f"record{i}" for i in range(total)]
    else:
        if signature == sig.PARSE_AND_PREDICT:
            _fail("--signature=parse_and_predict needs a TFRecord --input, not .npy arrays")
        arrays = _read_npy_dir(FLAGS.input, FLAGS.max_videos)
        total = arrays["audio"].shape[0]
        video_ids = [f"video{i}" for i in range(total)]

    names = class_names()
    videos = []
    with ServingClient(FLAGS.server, FLAGS.timeout, FLAGS.retries) as client:
        for part in _batches(total, FLAGS.batch_size):
            if is_records and signature == sig.PARSE_AND_PREDICT:
                serialized = np.empty(part.stop - part.start, dtype=object)
                serialized[:] = records[part]
                inputs = {sig.SERIALIZED: serialized}
            elif is_records:
                # Trim the batch to its longest video: the parser padded to the whole file's.
                steps = int(lengths[part].max())
                inputs = {
                    sig.AUDIO: features["audio"][part, :steps],
                    sig.VISUAL: features["visual"][part, :steps],
                }
            else:
                inputs = {sig.AUDIO: arrays["audio"][part], sig.VISUAL: arrays["visual"][part]}
            outputs = _query(client, inputs, signature)
            if is_records and signature != sig.PARSE_AND_PREDICT:
                outputs.setdefault(sig.NUM_SEGMENTS, lengths[part])
            for video in _video_timelines(outputs, video_ids[part], names):
                _print_video(video)
                videos.append(video)
    if FLAGS.output_json:
        write_json_atomic(
            FLAGS.output_json,
            {
                "server": FLAGS.server,
                "model_name": FLAGS.model_name,
                "signature": signature,
                "videos": videos,
            },
        )
    sys.stdout.flush()


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
