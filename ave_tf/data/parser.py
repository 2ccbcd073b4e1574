"""The one record parser: training, evaluation and the record-parsing serving signature use it.

`parse_batch` takes a batch of serialized SequenceExamples (a string tensor [B]) and returns
dense float32 features padded to the longest video of the batch, with a mask.
"""

import tensorflow as tf

from ave_tf.data import schema

_CONTEXT_SPEC = {
    schema.VIDEO_ID_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    schema.CLASS_INDEX_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    schema.CLASS_NAME_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    schema.EVENT_START_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    schema.EVENT_END_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    schema.SOURCE_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    schema.ANNOTATION_INDEX_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
}

_SEQUENCE_SPEC = {
    schema.AUDIO_KEY: tf.io.FixedLenSequenceFeature([schema.AUDIO_DIM], tf.float32),
    schema.VISUAL_KEY: tf.io.FixedLenSequenceFeature(
        [schema.VISUAL_DIM], tf.float32, allow_missing=True
    ),
    schema.VISUAL_F16_KEY: tf.io.FixedLenSequenceFeature([], tf.string, allow_missing=True),
    # Absent for unlabeled videos (extracted from raw video); parsed labels are then -1.
    schema.LABEL_KEY: tf.io.FixedLenSequenceFeature([], tf.int64, allow_missing=True),
}

# Keys of the dict returned by `parse_batch`.
AUDIO = "audio"
VISUAL = "visual"
LABELS = "labels"
MASK = "mask"
VIDEO_LABEL = "video_label"
VIDEO_ID = "video_id"
EVENT_START = "event_start"
EVENT_END = "event_end"
NUM_SEGMENTS = "num_segments"


def _pad_time(x: tf.Tensor, length: tf.Tensor) -> tf.Tensor:
    """Pads axis 1 of x with zeros up to `length`."""
    paddings = tf.concat(
        [[[0, 0], [0, length - tf.shape(x)[1]]], tf.zeros([tf.rank(x) - 2, 2], tf.int32)], axis=0
    )
    return tf.pad(x, paddings)


def parse_batch(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parses serialized SequenceExamples [B] into dense, padded tensors.

    Returns a dict with `audio` [B, T, 128] float32, `visual` [B, T, 7, 7, 512] float32,
    `labels` [B, T] int32 (-1 where padded or unlabeled), `mask` [B, T] float32 (1 for real
    segments), `video_label` [B] int32, `video_id` [B] string, `event_start`/`event_end` [B] int32,
    `num_segments` [B] int32. Records may store visual maps as float32 lists or float16 bytes.
    """
    serialized = tf.convert_to_tensor(serialized, tf.string)
    context, sequence, lengths = tf.io.parse_sequence_example(
        serialized, context_features=_CONTEXT_SPEC, sequence_features=_SEQUENCE_SPEC
    )
    audio = sequence[schema.AUDIO_KEY]
    audio_lengths = tf.cast(lengths[schema.AUDIO_KEY], tf.int32)
    batch = tf.shape(audio)[0]
    time = tf.shape(audio)[1]

    # Each record stores one of the two visual encodings; the other parses as an empty or
    # all-zero tensor. Batches of one encoding (the usual case) skip the other one's pad and
    # the sum: three fewer passes over the batch's 64 MB of visual maps.
    visual32 = sequence[schema.VISUAL_KEY]
    visual16_bytes = sequence[schema.VISUAL_F16_KEY]

    def dense32():
        return _pad_time(visual32, time)

    def decode16():
        # DecodePaddedRaw has no float16 kernel: decode the bits as uint16, then bitcast.
        bits = tf.io.decode_raw(visual16_bytes, tf.uint16, fixed_length=schema.VISUAL_DIM * 2)
        return _pad_time(tf.cast(tf.bitcast(bits, tf.float16), tf.float32), time)

    has16 = tf.size(visual16_bytes) > 0
    has32 = tf.size(visual32) > 0
    visual = tf.cond(
        has16,
        lambda: tf.cond(has32, lambda: dense32() + decode16(), decode16),
        dense32,
    )
    visual_lengths = tf.cast(
        tf.maximum(lengths[schema.VISUAL_KEY], lengths[schema.VISUAL_F16_KEY]), tf.int32
    )
    check = tf.debugging.Assert(
        tf.reduce_all(tf.equal(audio_lengths, visual_lengths)),
        ["records with different audio and visual segment counts:", context[schema.VIDEO_ID_KEY]],
        summarize=8,
    )
    # decode_raw zero-fills a short byte string: a truncated float16 map would pass as zeros.
    f16_segments = tf.sequence_mask(lengths[schema.VISUAL_F16_KEY], tf.shape(visual16_bytes)[1])
    wrong_size = f16_segments & (tf.strings.length(visual16_bytes) != schema.VISUAL_DIM * 2)
    check16 = tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(wrong_size)),
        [
            f"a float16 visual map is truncated or damaged (not {schema.VISUAL_DIM * 2} bytes)",
            "video ids:",
            tf.boolean_mask(context[schema.VIDEO_ID_KEY], tf.reduce_any(wrong_size, axis=1)),
        ],
        summarize=8,
    )
    with tf.control_dependencies([check, check16]):
        visual = tf.reshape(visual, [batch, time, *schema.VISUAL_SHAPE])

    labels = tf.cast(_pad_time(sequence[schema.LABEL_KEY][..., None], time)[..., 0], tf.int32)
    label_lengths = tf.cast(lengths[schema.LABEL_KEY], tf.int32)
    mask = tf.sequence_mask(audio_lengths, time, dtype=tf.float32)
    # Padded and unlabeled segments get -1.
    has_label = tf.sequence_mask(label_lengths, time)
    labels = tf.where(has_label, labels, -1)

    return {
        AUDIO: audio,
        VISUAL: visual,
        LABELS: labels,
        MASK: mask,
        VIDEO_LABEL: tf.cast(context[schema.CLASS_INDEX_KEY], tf.int32),
        VIDEO_ID: context[schema.VIDEO_ID_KEY],
        EVENT_START: tf.cast(context[schema.EVENT_START_KEY], tf.int32),
        EVENT_END: tf.cast(context[schema.EVENT_END_KEY], tf.int32),
        NUM_SEGMENTS: audio_lengths,
    }
