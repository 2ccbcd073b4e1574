"""Write-then-rename helpers: readers never see a half-written file.

Remote paths (`gs://...`; see ave_tf/utils/file_io.py) are written in one upload instead, which
object stores publish whole.
"""

import json
import os
import tempfile

from ave_tf.utils import file_io


def _umask_mode() -> int:
    """0o666 minus the process umask: what a plain open() would have created."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _is_special(path: str) -> bool:
    """A device or pipe (/dev/stdout, /dev/full, a FIFO): written in place; a rename would
    replace the device node or link itself (with root's rights, for everyone)."""
    if os.path.abspath(path).startswith(("/dev/", "/proc/")):
        return True
    return os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path)


def _write_in_place(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:  # a failed write or flush names no file: name it
        raise OSError(e.errno, e.strerror, path) from None


def write_text_atomic(path: str, text: str) -> None:
    """Writes `text` to `path` through a temporary file in the same directory."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str, value) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Writes `data` to `path` through a temporary file in the same directory."""
    if file_io.is_remote(path):
        return file_io.write_remote(path, data)
    if _is_special(path):
        return _write_in_place(path, data)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())  # mkstemp creates 0600; readers of a dataset need more
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
