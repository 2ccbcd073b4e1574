"""numpy <-> TensorProto for Predict requests and responses.

Numeric arrays travel as raw little-endian bytes in `tensor_content` (one memcpy each way), which
is what makes a 64-video request (~64 MB of float32) cheap; strings use `string_val`. Protos that
use the typed `*_val` fields (written by other clients) are read too, but only when their values
fill the declared shape exactly: nothing is allocated for a shape the request does not carry.
"""

import sys

import numpy as np
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

_NUMERIC = {
    np.dtype(np.float32): types_pb2.DT_FLOAT,
    np.dtype(np.float64): types_pb2.DT_DOUBLE,
    np.dtype(np.float16): types_pb2.DT_HALF,
    np.dtype(np.int8): types_pb2.DT_INT8,
    np.dtype(np.int16): types_pb2.DT_INT16,
    np.dtype(np.int32): types_pb2.DT_INT32,
    np.dtype(np.int64): types_pb2.DT_INT64,
    np.dtype(np.uint8): types_pb2.DT_UINT8,
    np.dtype(np.uint16): types_pb2.DT_UINT16,
    np.dtype(np.uint32): types_pb2.DT_UINT32,
    np.dtype(np.uint64): types_pb2.DT_UINT64,
    np.dtype(np.bool_): types_pb2.DT_BOOL,
}
_NUMPY_OF = {code: dtype for dtype, code in _NUMERIC.items()}


class TensorCodecError(ValueError):
    """A value that cannot be converted (names the tensor when the caller knows it)."""


def dtype_name(code: int) -> str:
    """`DT_FLOAT` -> "float32"; unknown codes keep their proto name."""
    if code == types_pb2.DT_STRING:
        return "string"
    if code in _NUMPY_OF:
        return _NUMPY_OF[code].name
    return types_pb2.DataType.Name(code) if code in types_pb2.DataType.values() else str(code)


def numpy_dtype(code: int) -> np.dtype | None:
    """The numpy dtype of a numeric TensorProto dtype (None for strings and unsupported ones)."""
    return _NUMPY_OF.get(code)


def dtype_code(array: np.ndarray) -> int | None:
    """The TensorProto dtype of a numpy array (DT_STRING for str/bytes/object), None if none."""
    if array.dtype.kind in "USO":
        return types_pb2.DT_STRING
    return _NUMERIC.get(array.dtype)


def _shape_proto(shape) -> tensor_shape_pb2.TensorShapeProto:
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in shape]
    )


def to_tensor_proto(value) -> tensor_pb2.TensorProto:
    """A numpy array (or nested list) as a new TensorProto; str/bytes arrays become DT_STRING."""
    proto = tensor_pb2.TensorProto()
    fill_tensor_proto(proto, value)
    return proto


def fill_tensor_proto(proto: tensor_pb2.TensorProto, value) -> None:
    """Writes `value` into an empty TensorProto in place, e.g. `request.inputs["audio"]`.

    Filling the message inside its request saves the copy a CopyFrom would make (~8 ms for the
    30 MB of a 32-video batch).
    """
    array = np.asarray(value)
    proto.tensor_shape.CopyFrom(_shape_proto(array.shape))
    if array.dtype.kind in "USO":
        flat = []
        for x in array.ravel():
            if isinstance(x, str):
                x = x.encode("utf-8")
            elif not isinstance(x, bytes):
                raise TensorCodecError(f"string tensors hold str or bytes, got {type(x).__name__}")
            flat.append(bytes(x))
        proto.dtype = types_pb2.DT_STRING
        proto.string_val.extend(flat)
        return
    if array.dtype not in _NUMERIC:
        raise TensorCodecError(f"unsupported dtype {array.dtype}")
    if sys.byteorder != "little" or array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    proto.dtype = _NUMERIC[array.dtype]
    proto.tensor_content = np.ascontiguousarray(array).tobytes()


def proto_shape(proto: tensor_pb2.TensorProto) -> tuple[int, ...]:
    return tuple(int(d.size) for d in proto.tensor_shape.dim)


# The typed `*_val` field of each dtype (TensorProto's layout; int_val carries every narrow int).
_TYPED_FIELD = {
    types_pb2.DT_FLOAT: "float_val",
    types_pb2.DT_DOUBLE: "double_val",
    types_pb2.DT_HALF: "half_val",
    types_pb2.DT_INT8: "int_val",
    types_pb2.DT_INT16: "int_val",
    types_pb2.DT_INT32: "int_val",
    types_pb2.DT_UINT8: "int_val",
    types_pb2.DT_UINT16: "int_val",
    types_pb2.DT_INT64: "int64_val",
    types_pb2.DT_UINT32: "uint32_val",
    types_pb2.DT_UINT64: "uint64_val",
    types_pb2.DT_BOOL: "bool_val",
    types_pb2.DT_STRING: "string_val",
}


def element_count(proto: tensor_pb2.TensorProto) -> int:
    """Elements the proto's shape declares (Python ints: no overflow); TensorCodecError if the
    rank is unknown or a dimension negative."""
    if proto.tensor_shape.unknown_rank:
        raise TensorCodecError("tensor of unknown rank")
    count = 1
    for size in proto_shape(proto):
        if size < 0:
            raise TensorCodecError(f"negative dimension in shape {list(proto_shape(proto))}")
        count *= size
    return count


# What one string costs once decoded (a Python bytes object and its slot in an object array),
# beyond its characters: a million empty strings are tens of MB, not zero.
STRING_OVERHEAD_BYTES = 64


def declared_bytes(proto: tensor_pb2.TensorProto) -> int:
    """Bytes the declared shape would take as a numpy array (strings: their characters plus
    STRING_OVERHEAD_BYTES each)."""
    if proto.dtype == types_pb2.DT_STRING:
        strings = proto.string_val
        return element_count(proto) * STRING_OVERHEAD_BYTES + sum(len(s) for s in strings)
    dtype = _NUMPY_OF.get(proto.dtype)
    if dtype is None:
        raise TensorCodecError(f"unsupported dtype {dtype_name(proto.dtype)}")
    return element_count(proto) * dtype.itemsize


def value_count(proto: tensor_pb2.TensorProto) -> int:
    """Elements the proto actually carries (in tensor_content or its typed field)."""
    if proto.tensor_content and proto.dtype in _NUMPY_OF:
        return len(proto.tensor_content) // _NUMPY_OF[proto.dtype].itemsize
    field = _TYPED_FIELD.get(proto.dtype)
    return len(getattr(proto, field)) if field else 0


def check_values_match_shape(proto: tensor_pb2.TensorProto) -> None:
    """TF Serving's rule: the values present must be exactly the elements the shape declares.

    Checked before anything is allocated, so that a few bytes declaring a huge shape (which
    TensorFlow would fill by repeating the last value) cost nothing.
    """
    count = element_count(proto)
    shape = list(proto_shape(proto))
    if proto.tensor_content and proto.dtype in _NUMPY_OF:
        expected = count * _NUMPY_OF[proto.dtype].itemsize
        if len(proto.tensor_content) != expected:
            raise TensorCodecError(
                f"tensor_content has {len(proto.tensor_content)} bytes, shape {shape} of "
                f"{_NUMPY_OF[proto.dtype].name} needs {expected}"
            )
        return
    have = value_count(proto)
    if have != count:
        raise TensorCodecError(
            f"{have} values for shape {shape} ({count} elements); the values must fill the shape"
        )


def to_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """The numpy value of a TensorProto (read-only view of `tensor_content` when present).

    Raises TensorCodecError unless the values present fill the declared shape exactly.
    """
    if proto.dtype != types_pb2.DT_STRING and proto.dtype not in _NUMPY_OF:
        raise TensorCodecError(f"unsupported dtype {dtype_name(proto.dtype)}")
    check_values_match_shape(proto)
    shape = proto_shape(proto)
    count = int(np.prod(shape, dtype=np.int64))
    if proto.dtype == types_pb2.DT_STRING:
        out = np.empty(count, dtype=object)
        out[:] = list(proto.string_val)
        return out.reshape(shape)
    dtype = _NUMPY_OF[proto.dtype]
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=dtype.newbyteorder("<")).reshape(shape)
    values = getattr(proto, _TYPED_FIELD[proto.dtype])
    if proto.dtype == types_pb2.DT_HALF:  # half_val holds the float16 bit patterns
        flat = np.fromiter(values, dtype=np.uint16, count=count).view(np.float16)
    else:  # fromiter: no Python list of boxed values on the way
        flat = np.fromiter(values, dtype=dtype, count=count)
    return flat.reshape(shape)
