"""File operations on local paths and on every file system TensorFlow knows.

A path with a scheme (`gs://bucket/run`, `s3://...` with tensorflow-io, `ram://` in tests) goes
through `tf.io.gfile`; a local path keeps the plain `os` calls, their OSErrors naming the file,
fsync and atomic renames. TensorFlow's errors (not OSErrors) are turned into OSErrors here, so
callers handle one kind of error whatever the file system. TensorFlow is imported only for a
remote path: the layer tests run without it (make test-jax).
"""

import builtins
import glob as local_glob
import os
import posixpath
import shutil
import uuid


def is_remote(path: str) -> bool:
    """Whether `path` names a file system other than the local one (`scheme://...`)."""
    return "://" in str(path)


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def _os_error(error, path: str) -> OSError:
    """A TensorFlow OpError as the OSError a local call would raise."""
    import errno

    import tensorflow as tf

    codes = {tf.errors.NotFoundError: errno.ENOENT, tf.errors.PermissionDeniedError: errno.EACCES}
    code = next((c for kind, c in codes.items() if isinstance(error, kind)), errno.EIO)
    return OSError(code, error.message or os.strerror(code), path)


def _remote(call, path: str, *args, **kwargs):
    import tensorflow as tf

    try:
        return call(*args, **kwargs)
    except tf.errors.OpError as e:
        raise _os_error(e, path) from None


def exists(path: str) -> bool:
    return _gfile().exists(path) if is_remote(path) else os.path.exists(path)


def isdir(path: str) -> bool:
    return _gfile().isdir(path) if is_remote(path) else os.path.isdir(path)


def isfile(path: str) -> bool:
    if is_remote(path):
        return _gfile().exists(path) and not _gfile().isdir(path)
    return os.path.isfile(path)


def makedirs(path: str) -> None:
    """Creates `path` and its parents; nothing when it exists."""
    if is_remote(path):
        _remote(_gfile().makedirs, path, path)
    else:
        os.makedirs(path, exist_ok=True)


def remove(path: str) -> None:
    if is_remote(path):
        _remote(_gfile().remove, path, path)
    else:
        os.remove(path)


def rmtree(path: str) -> None:
    if is_remote(path):
        _remote(_gfile().rmtree, path, path)
    else:
        shutil.rmtree(path)


def glob(pattern: str) -> list[str]:
    """Paths matching `pattern` (`*`, `?`, `[...]`); the caller escapes literal parts."""
    return _gfile().glob(pattern) if is_remote(pattern) else local_glob.glob(pattern)


def read_bytes(path: str) -> bytes:
    if is_remote(path):
        return _remote(lambda: _gfile().GFile(path, "rb").read(), path)
    with builtins.open(path, "rb") as f:
        return f.read()


def read_text(path: str) -> str:
    """The file's text (UTF-8); OSError naming the file when it cannot be read."""
    return read_bytes(path).decode("utf-8")


def write_remote(path: str, data: bytes) -> None:
    """Writes a whole remote file: a temporary file beside it, renamed over it.

    Readers never see half of it: object stores publish an object when its upload completes,
    and the rename (a server-side copy there) replaces the old one at once. Writing the final
    name directly is not enough everywhere: TensorFlow's ram:// appends to an existing file.
    """
    directory, name = posixpath.split(path)
    tmp = posixpath.join(directory, f".tmp-{uuid.uuid4().hex[:12]}-{name}")

    def write():
        try:
            with _gfile().GFile(tmp, "wb") as f:
                f.write(data)
            _gfile().rename(tmp, path, overwrite=True)
        except BaseException:
            if _gfile().exists(tmp):
                _gfile().remove(tmp)
            raise

    _remote(write, path)
