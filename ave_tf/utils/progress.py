"""A Keras-style progress bar for long loops (conversion, generation, extraction)."""

from collections.abc import Iterable, Iterator

import keras


def progress(
    iterable: Iterable, total: int | None, unit: str = "videos", verbose: bool = True
) -> Iterator:
    """Yields from `iterable`, drawing a progress bar on stderr/stdout when `verbose`."""
    if not verbose:
        yield from iterable
        return
    bar = keras.utils.Progbar(total, unit_name=unit, stateful_metrics=None)
    for i, item in enumerate(iterable, start=1):
        yield item
        bar.update(i)
