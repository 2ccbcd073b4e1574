"""prefetch_in_thread: order, bounded lookahead, errors, early exit."""

import threading
import time

import pytest

from ave_tf.utils.background_iterator import prefetch_in_thread


def _threads_named(name):
    return [t for t in threading.enumerate() if t.name == name]


def test_yields_every_item_in_order():
    assert list(prefetch_in_thread(iter(range(100)), depth=3)) == list(range(100))


def test_producer_runs_at_most_depth_ahead():
    produced = []

    def items():
        for i in range(50):
            produced.append(i)
            yield i

    iterator = prefetch_in_thread(items(), depth=2, name="bounded")
    assert next(iterator) == 0
    time.sleep(0.3)
    # one taken, `depth` queued, one more produced and waiting for room in the queue
    assert len(produced) <= 1 + 2 + 1
    iterator.close()


def test_producer_error_is_raised_in_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise OSError("video.mp4: corrupt")

    seen = []
    with pytest.raises(OSError, match="video.mp4: corrupt"):
        for item in prefetch_in_thread(items(), depth=4):
            seen.append(item)
    assert seen == [1, 2]


def test_leaving_early_stops_the_thread():
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    iterator = prefetch_in_thread(endless(), depth=2, name="endless-producer")
    assert [next(iterator) for _ in range(5)] == [0, 1, 2, 3, 4]
    iterator.close()
    assert not _threads_named("endless-producer")


def test_consumer_error_stops_the_thread():
    def endless():
        while True:
            yield 0

    with pytest.raises(RuntimeError):
        for _ in prefetch_in_thread(endless(), depth=1, name="stopped-by-consumer"):
            raise RuntimeError("model failed")
    assert not _threads_named("stopped-by-consumer")


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        list(prefetch_in_thread(iter([1]), depth=0))
