"""Encodes one video's features and labels as a serialized `tf.train.SequenceExample`.

Pure numpy (no TensorFlow, no protobuf objects), so converters and generators can run it in worker
processes. The bytes are the protobuf wire format written directly: a packed float field is its
tag, a varint length and the little-endian floats, so a 1 MB visual map costs one memory copy
instead of a quarter-million Python float conversions. Map keys are written sorted, so the output
equals `SequenceExample.SerializeToString(deterministic=True)` byte for byte (tested).
Decoding lives in `parser.py`, the one parser used everywhere.
"""

import numpy as np

from ave_tf.data import schema

# Wire-format tags (field number << 3 | wire type 2 = length-delimited) of the messages in
# tensorflow/core/example/{example,feature}.proto.
_TAG_1 = b"\x0a"  # field 1: map entry key, BytesList/FloatList/Int64List value, list items
_TAG_2 = b"\x12"  # field 2: map entry value, Feature.float_list, SequenceExample.feature_lists
_TAG_3 = b"\x1a"  # field 3: Feature.int64_list
_BYTES_LIST = _TAG_1
_FLOAT_LIST = _TAG_2
_INT64_LIST = _TAG_3

_FLOAT16_LIMIT = "|x| > 65504"
_FLOAT32_LIMIT = "|x| > 3.4e38"


class RecordError(ValueError):
    """A video whose features or labels cannot be written (names the video)."""


# A message under construction: its pieces (bytes or buffers, joined once at the end, so the
# megabyte of visual floats is copied exactly once) and their total size.
_Message = tuple[list, int]


def _varint(value: int) -> bytes:
    """Protobuf base-128 varint; negative int64 values take ten bytes (two's complement)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, message: _Message) -> _Message:
    """A length-delimited field holding `message`."""
    pieces, size = message
    head = tag + _varint(size)
    return [head, *pieces], len(head) + size


def _raw(data) -> _Message:
    data = memoryview(data).cast("B")
    return [data], data.nbytes


def _concat(messages: list[_Message]) -> _Message:
    return [p for pieces, _ in messages for p in pieces], sum(size for _, size in messages)


def _bytes_feature(value) -> _Message:
    return _field(_BYTES_LIST, _field(_TAG_1, _raw(value)))


def _int_feature(value: int) -> _Message:
    return _field(_INT64_LIST, _field(_TAG_1, _raw(_varint(int(value)))))


def _float_feature(values: np.ndarray) -> _Message:
    """A Feature holding a FloatList of float32 `values` (packed little-endian)."""
    values = np.ascontiguousarray(values, dtype="<f4")
    return _field(_FLOAT_LIST, _field(_TAG_1, _raw(values)) if values.size else ([], 0))


def _cast(name: str, what: str, values: np.ndarray, dtype: str, limit: str) -> np.ndarray:
    """Casts finite `values` to `dtype`, refusing values the narrower type turns into Inf."""
    with np.errstate(over="ignore"):
        cast = values.astype(dtype, copy=False)
    if cast is not values:
        if not np.isfinite(cast).all():
            raise RecordError(f"{name}: {what} features overflow {np.dtype(dtype).name} ({limit})")
    return cast


def _map(entries: dict[str, _Message]) -> _Message:
    """A protobuf map<string, message> field 1, keys sorted as deterministic serialization does."""
    return _concat(
        [
            _field(
                _TAG_1, _concat([_field(_TAG_1, _raw(key.encode("utf-8"))), _field(_TAG_2, value)])
            )
            for key, value in sorted(entries.items())
        ]
    )


def _feature_list(features: list[_Message]) -> _Message:
    return _concat([_field(_TAG_1, feature) for feature in features])


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
        schema.VIDEO_ID_KEY: _bytes_feature(video_id.encode("utf-8")),
        schema.CLASS_INDEX_KEY: _int_feature(class_index),
        schema.CLASS_NAME_KEY: _bytes_feature(class_name.encode("utf-8")),
        schema.EVENT_START_KEY: _int_feature(event_start),
        schema.EVENT_END_KEY: _int_feature(event_end),
        schema.SOURCE_KEY: _bytes_feature(source.encode("utf-8")),
        schema.ANNOTATION_INDEX_KEY: _int_feature(annotation_index),
        schema.NUM_SEGMENTS_KEY: _int_feature(num_segments),
    }
    audio32 = _cast(name, "audio", audio, "<f4", _FLOAT32_LIMIT)
    lists = {schema.AUDIO_KEY: _feature_list([_float_feature(a) for a in audio32])}
    flat_visual = visual.reshape(num_segments, schema.VISUAL_DIM)
    if visual_dtype == "float16":
        half = _cast(name, "visual", flat_visual, "<f2", _FLOAT16_LIMIT)
        lists[schema.VISUAL_F16_KEY] = _feature_list([_bytes_feature(row) for row in half])
    else:
        visual32 = _cast(name, "visual", flat_visual, "<f4", _FLOAT32_LIMIT)
        lists[schema.VISUAL_KEY] = _feature_list([_float_feature(v) for v in visual32])
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.shape[0] != num_segments:
            raise RecordError(f"{name}: {labels.shape[0]} labels for {num_segments} segments")
        if labels.min() < 0 or labels.max() >= schema.NUM_CLASSES:
            raise RecordError(f"{name}: segment labels must lie in [0, {schema.NUM_CLASSES - 1}]")
        lists[schema.LABEL_KEY] = _feature_list([_int_feature(x) for x in labels])

    pieces, _ = _concat([_field(_TAG_1, _map(context)), _field(_TAG_2, _map(lists))])
    return b"".join(pieces)
