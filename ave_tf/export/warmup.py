"""Warm-up requests stored in a SavedModel (`assets.extra/tf_serving_warmup_requests`).

tensorflow_model_server (and ave_serve) replays these `PredictionLog` records after loading a
version and before serving it, so the first real request does not pay for graph
initialization. One small request per signature.
"""

import os

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2,
    predict_pb2,
    prediction_log_pb2,
)

from ave_tf.data import example_codec, schema
from ave_tf.export import signatures as sig

ASSETS_EXTRA_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
WARMUP_SEGMENTS = 3  # dynamic T: any length warms every op; short keeps the file small


def example_features(batch: int, time: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Feature arrays shaped like real inputs (non-negative, like ReLU/VGGish outputs)."""
    rng = np.random.default_rng(seed)
    return {
        sig.AUDIO: rng.random((batch, time, schema.AUDIO_DIM), dtype=np.float32),
        sig.VISUAL: rng.random((batch, time, *schema.VISUAL_SHAPE), dtype=np.float32),
    }


def example_inputs(signature_name: str, batch: int = 1, time: int = WARMUP_SEGMENTS, seed=0):
    """Valid inputs (numpy arrays) for a Predict signature, keyed by input name."""
    features = example_features(batch, time, seed)
    if signature_name == sig.PARSE_AND_PREDICT:
        records = [
            example_codec.encode_video(
                video_id=f"warmup{i}",
                audio=features[sig.AUDIO][i],
                visual=features[sig.VISUAL][i],
                labels=None,
                class_index=-1,
                class_name="",
                event_start=-1,
                event_end=-1,
                source="warmup",
            )
            for i in range(batch)
        ]
        return {sig.SERIALIZED: np.array(records, dtype=object)}
    if signature_name in (sig.LOCALIZE_A2V, sig.LOCALIZE_V2A):
        length = max(1, time // 3)
        features[sig.QUERY_START] = np.full([batch], time - length, np.int64)
        features[sig.QUERY_LENGTH] = np.full([batch], length, np.int64)
    return features


def example_classify_examples(batch: int = 1, time: int = WARMUP_SEGMENTS, seed=0):
    """tf.train.Example protos for the `classify` signature (flat float lists)."""
    features = example_features(batch, time, seed)
    examples = []
    for i in range(batch):
        feature = {
            key: tf.train.Feature(float_list=tf.train.FloatList(value=features[key][i].ravel()))
            for key in (schema.AUDIO_KEY, schema.VISUAL_KEY)
        }
        examples.append(tf.train.Example(features=tf.train.Features(feature=feature)))
    return examples


def warmup_logs(model_name: str, signature_names: list[str]) -> list:
    """One PredictionLog per signature (a ClassifyLog for `classify`)."""
    logs = []
    for name in signature_names:
        if name == sig.CLASSIFY:
            request = classification_pb2.ClassificationRequest()
            request.model_spec.name = model_name
            request.model_spec.signature_name = name
            request.input.example_list.examples.extend(example_classify_examples())
            logs.append(
                prediction_log_pb2.PredictionLog(
                    classify_log=prediction_log_pb2.ClassifyLog(request=request)
                )
            )
            continue
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = name
        for key, value in example_inputs(name).items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        logs.append(
            prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
        )
    return logs


def write_warmup_requests(saved_model_dir: str, model_name: str, signature_names: list[str]) -> str:
    """Writes the warm-up TFRecord into `saved_model_dir/assets.extra/`; returns its path."""
    directory = os.path.join(saved_model_dir, ASSETS_EXTRA_DIR)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for log in warmup_logs(model_name, signature_names):
            writer.write(log.SerializeToString())
    return path


def read_warmup_logs(saved_model_dir: str) -> list:
    """The PredictionLog records of a SavedModel's warm-up file ([] when it has none)."""
    path = os.path.join(saved_model_dir, ASSETS_EXTRA_DIR, WARMUP_FILE)
    if not tf.io.gfile.exists(path):
        return []
    logs = []
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        logs.append(prediction_log_pb2.PredictionLog.FromString(record))
    return logs
