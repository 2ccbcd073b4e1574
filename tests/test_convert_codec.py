"""The direct wire-format encoder equals protobuf's deterministic serialization byte for byte."""

import numpy as np
import pytest
from tensorflow.core.example import example_pb2, feature_pb2

from ave_tf.data import example_codec, schema


def _proto_reference(audio, visual, labels, visual_dtype, **context) -> bytes:
    """The same record built with protobuf objects (the codec's former implementation)."""

    def ints(v):
        return feature_pb2.Feature(int64_list=feature_pb2.Int64List(value=[int(v)]))

    def raw(v):
        return feature_pb2.Feature(bytes_list=feature_pb2.BytesList(value=[v]))

    def floats(v):
        return feature_pb2.Feature(float_list=feature_pb2.FloatList(value=v))

    t = len(audio)
    ctx = {
        schema.VIDEO_ID_KEY: raw(context["video_id"].encode()),
        schema.CLASS_INDEX_KEY: ints(context["class_index"]),
        schema.CLASS_NAME_KEY: raw(context["class_name"].encode()),
        schema.EVENT_START_KEY: ints(context["event_start"]),
        schema.EVENT_END_KEY: ints(context["event_end"]),
        schema.SOURCE_KEY: raw(context["source"].encode()),
        schema.ANNOTATION_INDEX_KEY: ints(context["annotation_index"]),
        schema.NUM_SEGMENTS_KEY: ints(t),
    }
    flat = visual.reshape(t, -1)
    lists = {schema.AUDIO_KEY: [floats(a) for a in audio.astype(np.float32)]}
    if visual_dtype == "float16":
        lists[schema.VISUAL_F16_KEY] = [raw(v.astype("<f2").tobytes()) for v in flat]
    else:
        lists[schema.VISUAL_KEY] = [floats(v) for v in flat.astype(np.float32)]
    if labels is not None:
        lists[schema.LABEL_KEY] = [ints(x) for x in labels]
    example = example_pb2.SequenceExample(
        context=feature_pb2.Features(feature=ctx),
        feature_lists=feature_pb2.FeatureLists(
            feature_list={k: feature_pb2.FeatureList(feature=v) for k, v in lists.items()}
        ),
    )
    return example.SerializeToString(deterministic=True)


@pytest.mark.parametrize(
    "visual_dtype, labelled, num_segments, input_dtype",
    [
        ("float32", True, 10, np.float64),
        ("float16", True, 3, np.float32),
        ("float32", False, 1, np.float32),
    ],
)
def test_wire_format_equals_protobuf(visual_dtype, labelled, num_segments, input_dtype):
    rng = np.random.default_rng(num_segments)
    audio = (rng.standard_normal((num_segments, 128)) * 3).astype(input_dtype)
    visual = (rng.random((num_segments, 7, 7, 512)) * 50).astype(input_dtype)
    labels = rng.integers(0, 29, num_segments) if labelled else None
    # Negative ints take ten varint bytes; the long id takes a two-byte length.
    context = dict(
        video_id="yt-é_" + "x" * 200,
        class_index=schema.BACKGROUND_CLASS,
        class_name="Race car, auto racing",
        event_start=-1,
        event_end=300,
        source="ave_release",
        annotation_index=4142,
    )
    ours = example_codec.encode_video(
        audio=audio, visual=visual, labels=labels, visual_dtype=visual_dtype, **context
    )
    assert ours == _proto_reference(audio, visual, labels, visual_dtype, **context)
    parsed = example_pb2.SequenceExample.FromString(ours)
    assert parsed.context.feature[schema.ANNOTATION_INDEX_KEY].int64_list.value == [4142]


@pytest.mark.parametrize(
    "visual_dtype, value, message",
    [("float16", 70000.0, "overflow float16"), ("float32", 1e39, "overflow float32")],
)
def test_values_beyond_the_storage_type_are_refused(visual_dtype, value, message):
    visual = np.zeros((2, 7, 7, 512))
    visual[1, 3, 3, 7] = value
    with pytest.raises(example_codec.RecordError, match=f"video 9: visual features {message}"):
        example_codec.encode_video(
            video_id="v",
            audio=np.zeros((2, 128)),
            visual=visual,
            labels=None,
            class_index=0,
            class_name="c",
            event_start=0,
            event_end=2,
            source="t",
            visual_dtype=visual_dtype,
            name="video 9",
        )
