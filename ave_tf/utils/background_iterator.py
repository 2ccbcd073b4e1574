"""Runs a producer (a reader, a decoder) in a thread ahead of its consumer."""

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def prefetch_in_thread(items: Iterator[T], depth: int, name: str = "ave-prefetch") -> Iterator[T]:
    """Yields `items`, produced by a thread at most `depth` items ahead; re-raises its errors.

    The producer's work (file reads, video decoding; both release the GIL) overlaps the
    consumer's (TensorFlow ops). Leaving the loop early, or an error on either side, stops the
    thread after the item it is producing; nothing is left running.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            put(e)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
