"""Serving building blocks without a server: tensor codec, timeline, input validation, error
messages, and the version registry (policies, hot swap, broken versions) with a fake loader."""

import os
import socket
import time

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import model_pb2

from ave_tf.serving import tensor_codec
from ave_tf.serving.client import BACKOFF_SECONDS, ServingClient, ServingError
from ave_tf.serving.errors import RequestError, from_tf_error, tf_error_message
from ave_tf.serving.model_registry import ModelRegistry, ModelSource
from ave_tf.serving.request_validation import admit_protos, validate_inputs
from ave_tf.serving.timeline import event_timeline

# Tensor codec.


@pytest.mark.parametrize(
    "value",
    [
        np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7,
        np.array([[1, -2], [3, 4]], dtype=np.int64),
        np.array([1, 2], dtype=np.int32),
        np.array([0.5, -1.5], dtype=np.float16),
        np.array([True, False]),
        np.float32(3.5),
        np.zeros([2, 0, 128], np.float32),
        np.array([b"a\x00b", b"", b"\xff"], dtype=object),
        np.array([["x", "y"]]),
    ],
)
def test_codec_round_trip(value):
    proto = tensor_codec.to_tensor_proto(value)
    back = tensor_codec.to_ndarray(tensor_pb2.TensorProto.FromString(proto.SerializeToString()))
    expected = np.asarray(value)
    assert back.shape == expected.shape
    if expected.dtype.kind in "USO":
        as_bytes = [x.encode() if isinstance(x, str) else x for x in expected.ravel()]
        assert back.ravel().tolist() == as_bytes
    else:
        assert back.dtype == expected.dtype
        np.testing.assert_array_equal(back, expected)
    # TensorFlow reads our protos the same way.
    assert np.array_equal(tf.make_ndarray(proto), back) or expected.dtype.kind in "USO"


def _typed_proto(dtype, shape, **values):
    return tensor_pb2.TensorProto(
        dtype=dtype,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in shape]
        ),
        **values,
    )


def test_codec_reads_typed_value_fields_like_tensorflow():
    cases = [
        _typed_proto(types_pb2.DT_FLOAT, [2], float_val=[1.5, 2.5]),
        _typed_proto(types_pb2.DT_INT64, [1, 2], int64_val=[-3, 2**40]),
        _typed_proto(types_pb2.DT_INT8, [3], int_val=[-128, 0, 127]),
        _typed_proto(types_pb2.DT_HALF, [2], half_val=[0x3C00, 0xC000]),  # 1.0, -2.0
        _typed_proto(types_pb2.DT_BOOL, [2], bool_val=[True, False]),
        _typed_proto(types_pb2.DT_STRING, [2], string_val=[b"r", b"s"]),
        _typed_proto(types_pb2.DT_FLOAT, [0, 4]),
    ]
    for proto in cases:
        got, want = tensor_codec.to_ndarray(proto), tf.make_ndarray(proto)
        assert got.shape == want.shape and got.tolist() == want.tolist(), proto


def test_codec_refuses_values_that_do_not_fill_the_declared_shape():
    # TensorFlow would repeat the last value to fill the shape: a few bytes could ask for GBs.
    huge = _typed_proto(types_pb2.DT_FLOAT, [1 << 20, 1 << 20], float_val=[1.0])
    with pytest.raises(tensor_codec.TensorCodecError, match="must fill the shape"):
        tensor_codec.to_ndarray(huge)
    assert tensor_codec.declared_bytes(huge) == 4 << 40
    for proto in (
        _typed_proto(types_pb2.DT_STRING, [3], string_val=[b"r"]),
        _typed_proto(types_pb2.DT_INT32, [2], int_val=[1, 2, 3]),
        _typed_proto(types_pb2.DT_FLOAT, [3]),
    ):
        with pytest.raises(tensor_codec.TensorCodecError, match="must fill the shape"):
            tensor_codec.to_ndarray(proto)
    with pytest.raises(tensor_codec.TensorCodecError, match="negative dimension"):
        tensor_codec.to_ndarray(_typed_proto(types_pb2.DT_FLOAT, [-1], float_val=[1.0]))


def test_codec_rejects_inconsistent_protos():
    proto = tensor_codec.to_tensor_proto(np.zeros([2, 3], np.float32))
    proto.tensor_shape.dim[1].size = 4
    with pytest.raises(tensor_codec.TensorCodecError, match="needs 32"):
        tensor_codec.to_ndarray(proto)
    with pytest.raises(tensor_codec.TensorCodecError, match="unsupported dtype"):
        tensor_codec.to_tensor_proto(np.zeros([2], np.complex64))
    with pytest.raises(tensor_codec.TensorCodecError, match="str or bytes, got int"):
        tensor_codec.to_tensor_proto(np.array([b"a", 5], dtype=object))


# Event timeline.

NAMES = [f"class{k}" for k in range(28)] + ["background"]


def _one_hot_probabilities(classes, confidence=0.8):
    probabilities = np.full([len(classes), 29], (1 - confidence) / 28)
    probabilities[np.arange(len(classes)), classes] = confidence
    return probabilities


def test_timeline_merges_consecutive_seconds_and_skips_background():
    probabilities = _one_hot_probabilities([28, 3, 3, 3, 28, 5, 5, 3, 28, 28])
    probabilities[2, 3] = 0.6
    events = event_timeline(probabilities, NAMES)
    assert [(e["class"], e["start"], e["end"]) for e in events] == [
        ("class3", 1, 4),
        ("class5", 5, 7),
        ("class3", 7, 8),
    ]
    assert events[0]["confidence"] == pytest.approx((0.8 + 0.6 + 0.8) / 3)
    assert events[0]["class_index"] == 3


def test_timeline_edges():
    assert event_timeline(_one_hot_probabilities([28] * 10), NAMES) == []
    whole = event_timeline(_one_hot_probabilities([7] * 10), NAMES)
    assert [(e["start"], e["end"]) for e in whole] == [(0, 10)]
    padded = event_timeline(_one_hot_probabilities([2, 2, 9, 9]), NAMES, num_segments=3)
    assert [(e["class"], e["start"], e["end"]) for e in padded] == [
        ("class2", 0, 2),
        ("class9", 2, 3),
    ]
    with pytest.raises(ValueError, match=r"\[T, 29\]"):
        event_timeline(np.zeros([10, 28]), NAMES)


# Input validation and error messages.


def _signature() -> meta_graph_pb2.SignatureDef:
    signature = meta_graph_pb2.SignatureDef()
    for key, dims, dtype in (
        ("audio", [-1, -1, 128], types_pb2.DT_FLOAT),
        ("visual", [-1, -1, 7, 7, 512], types_pb2.DT_FLOAT),
    ):
        info = signature.inputs[key]
        info.dtype = dtype
        info.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims)
    return signature


@pytest.mark.parametrize(
    "change, message",
    [
        ({"text": np.zeros([1], np.float32)}, "input 'text' is not an input of signature 's'"),
        ({"visual": None}, "signature 's' needs input 'visual'"),
        ({"audio": np.zeros([1, 2, 128], np.float64)}, "must be float32, got float64"),
        ({"audio": np.array([[b"x"]], dtype=object)}, "must be float32, got string"),
        ({"audio": np.zeros([2, 128], np.float32)}, "shape [?, ?, 128], got [2, 128]"),
        ({"visual": np.zeros([1, 2, 7, 7, 3], np.float32)}, "got [1, 2, 7, 7, 3]"),
        ({"audio": np.zeros([1, 0, 128], np.float32)}, "is empty, shape [1, 0, 128] (T = 0"),
    ],
)
def test_validation_names_the_bad_input(change, message):
    inputs = {
        "audio": np.zeros([1, 2, 128], np.float32),
        "visual": np.zeros([1, 2, 7, 7, 512], np.float32),
    }
    for key, value in change.items():
        if value is None:
            del inputs[key]
        else:
            inputs[key] = value
    with pytest.raises(RequestError) as raised:
        validate_inputs("s", _signature(), inputs)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in raised.value.message


@pytest.mark.parametrize(
    "change, message",
    [
        ({"audio": _typed_proto(types_pb2.DT_DOUBLE, [1, 1, 128])}, "must be float32, got float64"),
        ({"audio": _typed_proto(types_pb2.DT_FLOAT, [1, 128])}, "shape [?, ?, 128], got [1, 128]"),
        ({"visual": _typed_proto(types_pb2.DT_FLOAT, [1, 9000, 7, 7, 512], float_val=[0.0])},
         "over the server's limit of 1000000 (ave_serve --max_input_mb)"),
        ({"audio": _typed_proto(types_pb2.DT_FLOAT, [1, 2, 128], float_val=[0.0])},
         "input 'audio': 1 values for shape [1, 2, 128]"),
        ({"text": _typed_proto(types_pb2.DT_FLOAT, [1])}, "input 'text' is not an input"),
    ],
)  # fmt: skip
def test_admission_refuses_before_decoding(change, message):
    protos = {
        "audio": tensor_codec.to_tensor_proto(np.zeros([1, 2, 128], np.float32)),
        "visual": tensor_codec.to_tensor_proto(np.zeros([1, 2, 7, 7, 512], np.float32)),
    }
    admit_protos("s", _signature(), protos, max_bytes=1_000_000)
    with pytest.raises(RequestError) as raised:
        admit_protos("s", _signature(), {**protos, **change}, max_bytes=1_000_000)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in raised.value.message


def test_tf_errors_become_their_assert_message_and_code():
    @tf.function
    def check(x):
        tf.debugging.assert_positive(x, message="T must be [at least] 1")
        return x

    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        check(tf.constant([0]))
    assert tf_error_message(raised.value) == "T must be [at least] 1"
    error = from_tf_error(raised.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    plain = tf.errors.NotFoundError(None, None, "Graph execution error:\n\nfile x is missing")
    assert tf_error_message(plain) == "file x is missing"
    assert from_tf_error(plain).code == grpc.StatusCode.NOT_FOUND


# Version registry.


class FakeModel:
    def __init__(self, name, version, path):
        with open(os.path.join(path, "saved_model.pb")) as f:
            if f.read() == "broken":
                raise ValueError(f"{path}: corrupt SavedModel")
        self.name, self.version, self.path = name, version, path
        self.warmed = False

    def warm_up(self):
        self.warmed = True
        return 1


def _add_version(base, version, content="ok"):
    path = os.path.join(base, str(version))
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "saved_model.pb"), "w") as f:
        f.write(content)


def _spec(name="m", version=None, label=""):
    spec = model_pb2.ModelSpec(name=name, version_label=label)
    if version is not None:
        spec.version.value = version
    return spec


def _served(registry, name="m"):
    return [s.version for s in registry.status(name) if s.state == "AVAILABLE"]


def test_registry_serves_newest_and_swaps_after_loading(tmp_path):
    base = str(tmp_path)
    _add_version(base, 1)
    registry = ModelRegistry([ModelSource("m", base)], loader=FakeModel)
    registry.poll()
    first = registry.resolve(_spec())
    assert (first.version, first.warmed) == (1, True)
    _add_version(base, 2)
    os.makedirs(os.path.join(base, "3"))  # no saved_model.pb yet: not a version
    registry.poll()
    assert registry.resolve(_spec()).version == 2
    assert _served(registry) == [2]
    with pytest.raises(RequestError) as raised:
        registry.resolve(_spec(version=1))
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert "Specific(m, 1)" in raised.value.message


def test_registry_skips_broken_versions_until_they_change(tmp_path):
    base = str(tmp_path)
    _add_version(base, 1)
    _add_version(base, 2, "broken")
    registry = ModelRegistry([ModelSource("m", base)], loader=FakeModel)
    registry.poll()
    assert registry.resolve(_spec()).version == 1  # falls back at once, at start-up too
    statuses = {s.version: s for s in registry.status("m")}
    assert statuses[2].state == "END" and "corrupt SavedModel" in statuses[2].error
    registry.poll()
    assert _served(registry) == [1]
    _add_version(base, 2, "ok")
    os.utime(os.path.join(base, "2"), (1e9, 2e9))  # the folder changed: try again
    registry.poll()
    assert _served(registry) == [2]


def test_registry_policies_labels_and_unknown_models(tmp_path):
    base = str(tmp_path)
    for version in (1, 2, 3):
        _add_version(base, version)
    sources = [
        ModelSource("latest2", base, num_versions=2, version_labels={"stable": 2, "old": 1}),
        ModelSource("pinned", base, policy="specific", specific_versions=(1, 3)),
        ModelSource("every", base, policy="all"),
    ]
    registry = ModelRegistry(sources, loader=FakeModel)
    registry.poll()
    assert _served(registry, "latest2") == [2, 3]
    assert _served(registry, "pinned") == [1, 3]
    assert _served(registry, "every") == [1, 2, 3]
    assert registry.resolve(_spec("latest2", label="stable")).version == 2
    for spec, code in (
        (_spec("latest2", label="old"), grpc.StatusCode.NOT_FOUND),  # label of an unloaded one
        (_spec("latest2", label="nope"), grpc.StatusCode.NOT_FOUND),
        (_spec("missing"), grpc.StatusCode.NOT_FOUND),
    ):
        with pytest.raises(RequestError) as raised:
            registry.resolve(spec)
        assert raised.value.code == code
    with pytest.raises(RequestError):
        registry.status("missing")
    with pytest.raises(RequestError):
        registry.status("pinned", version=2)


def test_registry_drops_removed_versions_and_waits_for_a_first_one(tmp_path):
    base = str(tmp_path)
    registry = ModelRegistry([ModelSource("m", base)], loader=FakeModel)
    registry.poll()
    with pytest.raises(RequestError, match="none loaded"):
        registry.resolve(_spec())
    _add_version(base, 1)
    _add_version(base, 2)
    registry.start(poll_seconds=0.05)
    try:
        deadline = time.monotonic() + 10
        while _served_or_empty(registry) != [2] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _served(registry) == [2]  # picked up by the watcher thread
        os.rename(os.path.join(base, "2"), os.path.join(base, ".removed"))
        registry.poll()
        assert _served(registry) == [1]
    finally:
        registry.stop()


def _served_or_empty(registry):
    try:
        return _served(registry)
    except RequestError:
        return []


# Client retries.


def test_client_retries_unavailable_then_reports_code_and_attempts():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    start = time.monotonic()
    with ServingClient(f"127.0.0.1:{port}", timeout=2, retries=1) as client:
        with pytest.raises(ServingError) as raised:
            client.predict({"audio": np.zeros([1, 1, 128], np.float32)})
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE
    assert f"127.0.0.1:{port}: UNAVAILABLE after 2 attempts" in str(raised.value)
    assert time.monotonic() - start >= BACKOFF_SECONDS  # waited before the second attempt


def test_a_busy_port_is_refused_and_the_default_host_is_loopback(tmp_path):
    from ave_tf.serving.server import ServerStartError, create_server

    registry = ModelRegistry([ModelSource("m", str(tmp_path))], loader=FakeModel)
    first, port = create_server(registry, port=0, max_workers=1)
    first.start()
    try:
        with pytest.raises(ServerStartError, match=f"cannot listen on 127.0.0.1:{port}"):
            create_server(registry, port=port, max_workers=1)
    finally:
        first.stop(0)


def test_registry_retries_a_version_copied_file_by_file(tmp_path):
    base = str(tmp_path)
    _add_version(base, 1)
    os.makedirs(os.path.join(base, "1", "variables"))
    open(os.path.join(base, "1", "variables", "variables.index"), "w").close()
    path = os.path.join(base, "2")
    os.makedirs(os.path.join(path, "variables"))
    with open(os.path.join(path, "saved_model.pb"), "w") as f:
        f.write("ok")  # the first file of the copy: FakeModel needs the variables too

    class NeedsVariables(FakeModel):
        def __init__(self, name, version, path):
            if not os.path.exists(os.path.join(path, "variables", "variables.index")):
                raise OSError(f"{path}: variables/variables.index not found")
            super().__init__(name, version, path)

    registry = ModelRegistry([ModelSource("m", base)], loader=NeedsVariables)
    registry.poll()
    statuses = {s.version: s for s in registry.status("m")}
    assert statuses[2].state == "END" and "variables.index" in statuses[2].error
    assert _served(registry) == [1]
    registry.poll()
    assert _served(registry) == [1]  # unchanged: not retried before the retry interval
    with open(os.path.join(path, "variables", "variables.index"), "w") as f:
        f.write("index")  # the copy goes on inside a subfolder: the version folder's mtime
    registry.poll()  # does not change, its contents do
    assert _served(registry) == [2]


def test_registry_retries_unchanged_failures_on_a_timer_then_gives_up(tmp_path):
    base = str(tmp_path)
    _add_version(base, 1, "broken")
    attempts = []

    class Counting(FakeModel):
        def __init__(self, name, version, path):
            attempts.append(version)
            super().__init__(name, version, path)

    registry = ModelRegistry(
        [ModelSource("m", base)], loader=Counting, max_load_retries=2, load_retry_interval=0
    )
    for _ in range(6):
        registry.poll()
    assert attempts == [1, 1, 1]  # the first load and 2 retries


def test_registry_ignores_names_that_are_not_int64_versions(tmp_path, caplog):
    base = str(tmp_path)
    _add_version(base, 3)
    for name in ("99999999999999999999", "007", "latest", "٣"):
        _add_version(base, name)
    registry = ModelRegistry([ModelSource("m", base)], loader=FakeModel)
    with caplog.at_level("WARNING"):
        registry.poll()
        registry.poll()
    assert _served(registry) == [3]
    warnings = [r.getMessage() for r in caplog.records if "ignoring folder" in r.getMessage()]
    assert len(warnings) == 4  # once each, not on every poll
    assert any("99999999999999999999" in w and "int64" in w for w in warnings)


def test_many_empty_strings_count_against_the_size_limit():
    from tensorflow_serving.apis import input_pb2

    from ave_tf.serving.servicer import _admit_examples

    signature = meta_graph_pb2.SignatureDef()
    signature.inputs["serialized"].dtype = types_pb2.DT_STRING
    signature.inputs["serialized"].tensor_shape.dim.add(size=-1)
    strings = _typed_proto(types_pb2.DT_STRING, [100_000], string_val=[b""] * 100_000)
    admit_protos("s", signature, {"serialized": strings}, max_bytes=100_000 * 64)
    with pytest.raises(RequestError, match="over the server's limit"):
        admit_protos("s", signature, {"serialized": strings}, max_bytes=1 << 20)
    examples = input_pb2.Input()
    examples.example_list.examples.add()
    for _ in range(20_000):
        examples.example_list.examples.add()
    _admit_examples(examples, max_bytes=20_001 * 64 + examples.ByteSize())
    with pytest.raises(RequestError, match="Classify request of 20001 examples"):
        _admit_examples(examples, max_bytes=1 << 20)
