"""Encodes one video's features and labels as a serialized `tf.train.SequenceExample`.

Pure numpy + protobuf (no TensorFlow ops), so converters and generators can run it in worker
processes. Decoding lives in `parser.py`, the one parser used everywhere.
"""

import numpy as np
from tensorflow.core.example import example_pb2, feature_pb2

from ave_tf.data import schema


class RecordError(ValueError):
    """A video whose features or labels cannot be written (names the video)."""


def _bytes(value: bytes) -> feature_pb2.Feature:
    return feature_pb2.Feature(bytes_list=feature_pb2.BytesList(value=[value]))


def _int(value: int) -> feature_pb2.Feature:
    return feature_pb2.Feature(int64_list=feature_pb2.Int64List(value=[int(value)]))


def validate_features(name: str, audio: np.ndarray, visual: np.ndarray) -> None:
    """Checks shapes and finiteness; raises RecordError naming the video."""
    if audio.ndim != 2 or audio.shape[1] != schema.AUDIO_DIM:
        raise RecordError(f"{name}: audio must be [T, {schema.AUDIO_DIM}], got {audio.shape}")
    if visual.shape[1:] != schema.VISUAL_SHAPE or visual.ndim != 4:
        raise RecordError(f"{name}: visual must be [T, 7, 7, 512], got {visual.shape}")
    if audio.shape[0] != visual.shape[0]:
        raise RecordError(
            f"{name}: audio has {audio.shape[0]} segments, visual has {visual.shape[0]}"
        )
    if audio.shape[0] == 0:
        raise RecordError(f"{name}: no segments")
    if not np.isfinite(audio).all():
        raise RecordError(f"{name}: audio features contain NaN or Inf")
    if not np.isfinite(visual).all():
        raise RecordError(f"{name}: visual features contain NaN or Inf")


def encode_video(
    *,
    video_id: str,
    audio: np.ndarray,
    visual: np.ndarray,
    labels: np.ndarray | None,
    class_index: int,
    class_name: str,
    event_start: int,
    event_end: int,
    source: str,
    annotation_index: int = -1,
    visual_dtype: str = "float32",
    name: str | None = None,
) -> bytes:
    """Returns one serialized SequenceExample.

    Args:
      audio: [T, 128] audio embeddings.
      visual: [T, 7, 7, 512] visual feature maps.
      labels: [T] segment labels in [0, 28], or None for unlabeled videos (stored as no list).
      visual_dtype: "float32" (float list) or "float16" (raw little-endian bytes, half the disk).
      name: how errors refer to this video (defaults to its id).
    """
    name = name or video_id
    audio = np.asarray(audio)
    visual = np.asarray(visual)
    validate_features(name, audio, visual)
    num_segments = audio.shape[0]
    if visual_dtype not in schema.VISUAL_DTYPES:
        raise RecordError(f"{name}: visual_dtype must be one of {schema.VISUAL_DTYPES}")

    context = {
        schema.VIDEO_ID_KEY: _bytes(video_id.encode("utf-8")),
        schema.CLASS_INDEX_KEY: _int(class_index),
        schema.CLASS_NAME_KEY: _bytes(class_name.encode("utf-8")),
        schema.EVENT_START_KEY: _int(event_start),
        schema.EVENT_END_KEY: _int(event_end),
        schema.SOURCE_KEY: _bytes(source.encode("utf-8")),
        schema.ANNOTATION_INDEX_KEY: _int(annotation_index),
        schema.NUM_SEGMENTS_KEY: _int(num_segments),
    }
    lists = {}
    audio32 = audio.astype(np.float32, copy=False)
    lists[schema.AUDIO_KEY] = feature_pb2.FeatureList(
        feature=[feature_pb2.Feature(float_list=feature_pb2.FloatList(value=a)) for a in audio32]
    )
    flat_visual = visual.reshape(num_segments, schema.VISUAL_DIM)
    if visual_dtype == "float16":
        half = flat_visual.astype("<f2")
        if not np.isfinite(half).all():
            raise RecordError(f"{name}: visual features overflow float16 (|x| > 65504)")
        lists[schema.VISUAL_F16_KEY] = feature_pb2.FeatureList(
            feature=[_bytes(row.tobytes()) for row in half]
        )
    else:
        visual32 = flat_visual.astype(np.float32, copy=False)
        lists[schema.VISUAL_KEY] = feature_pb2.FeatureList(
            feature=[
                feature_pb2.Feature(float_list=feature_pb2.FloatList(value=v)) for v in visual32
            ]
        )
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.shape[0] != num_segments:
            raise RecordError(f"{name}: {labels.shape[0]} labels for {num_segments} segments")
        if labels.min() < 0 or labels.max() >= schema.NUM_CLASSES:
            raise RecordError(f"{name}: segment labels must lie in [0, {schema.NUM_CLASSES - 1}]")
        lists[schema.LABEL_KEY] = feature_pb2.FeatureList(feature=[_int(x) for x in labels])

    example = example_pb2.SequenceExample(
        context=feature_pb2.Features(feature=context),
        feature_lists=feature_pb2.FeatureLists(feature_list=lists),
    )
    return example.SerializeToString()
