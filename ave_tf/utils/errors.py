"""One-line messages for the failures a binary expects: bad paths, full disks, damaged data.

Expected failures are OSError (names the file), TensorFlow runtime errors, and ave_tf's own
exception classes (DatasetError, RunDirError, ...: raised on purpose with a one-line message).
Anything else is a bug and is reported as an internal error by `ave_tf.utils.cli`.
TensorFlow is never imported here: its errors are recognized once it has been imported.
"""

import errno
import os
import re
import sys

# "assertion failed: [<message>] [Condition x == y did not hold ...] ..."
_ASSERTION = re.compile(r"assertion failed: \[(.*?)\](?: \[|$)", re.MULTILINE)
_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")
# tf.data's wrapping of an error raised inside Dataset.map: the cause follows it.
_MAP_PREFIX = re.compile(
    r"^Error in user-defined function passed to \S+ transformation with iterator: \S+: "
)
_OP_SUFFIX = re.compile(r"\s*\[Op:[^\]]*\](?: name: .*)?$")
_SKIPPED_LINES = ("Graph execution error", "Detected at node", "<stack traces unavailable>")

_HINTS = {
    errno.ENOSPC: "the disk is full: free some space or choose another location, then rerun",
    errno.EDQUOT: "the disk quota is exceeded: free some space or choose another location",
    errno.EACCES: "permission denied: fix its permissions or choose another location",
    errno.EPERM: "not permitted: fix its permissions or choose another location",
    errno.EROFS: "read-only file system: choose another location",
    errno.ENOENT: "no such file or directory: check the path",
    errno.ENOTDIR: "a parent of it is a file, not a directory: check the path",
    errno.EISDIR: "is a directory, not a file: check the path",
    errno.EEXIST: "already exists",
}


def tf_error_message(error) -> str:
    """The useful line of a TensorFlow runtime error (an assertion's own message if any)."""
    text = getattr(error, "message", None) or str(error)
    match = _ASSERTION.search(text)
    if match:  # tf.debugging.assert_* appends ".  " to the message
        return match.group(1).strip().rstrip(".")
    for line in text.splitlines():
        line = _MAP_PREFIX.sub("", _OP_SUFFIX.sub("", _FUNCTION_NODE.sub("", line)).strip())
        if line and not line.startswith(_SKIPPED_LINES) and not line.startswith("[["):
            return line[:500]
    return type(error).__name__


def os_error_message(error: OSError) -> str:
    """`<file>: <what went wrong and what to do>` for an OSError."""
    what = _HINTS.get(error.errno) or error.strerror or str(error)
    if error.errno in _HINTS and error.strerror and error.strerror != os.strerror(error.errno):
        what += f" ({error.strerror})"  # a message of our own, e.g. how much space is needed
    if error.filename is None:
        return f"{what} ({error})" if error.errno in _HINTS else str(error)
    names = str(error.filename)
    if error.filename2 is not None:
        names += f" -> {error.filename2}"
    return f"{names}: {what}"


def _is_tf_error(error: BaseException) -> bool:
    tf_errors = sys.modules.get("tensorflow.python.framework.errors_impl")
    return tf_errors is not None and isinstance(error, tf_errors.OpError)


def _is_own_error(error: BaseException) -> bool:
    """An exception class of ave_tf (raised on purpose, with a one-line message)."""
    return any(
        cls.__module__.startswith("ave_tf.") and issubclass(cls, Exception)
        for cls in type(error).__mro__
    )


def describe(error: BaseException) -> str:
    """One line for any exception a binary caught (a KeyError's args[0], not its repr)."""
    message = expected_message(error)
    if message is None and isinstance(error, LookupError) and error.args:
        message = str(error.args[0])
    return " ".join((message or str(error)).split())


def expected_message(error: BaseException) -> str | None:
    """The one-line message of an expected failure; None for anything unexpected (a bug)."""
    if isinstance(error, OSError):
        return os_error_message(error)
    if _is_tf_error(error):
        return tf_error_message(error)
    if _is_own_error(error):
        text = error.args[0] if isinstance(error, LookupError) and error.args else error
        return " ".join(str(text).split())
    return None
