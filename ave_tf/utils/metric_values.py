"""Metrics that can be undefined: a ratio with nothing to count is None, never 0 or a crash.

Everywhere a metric leaves the package, None means "undefined": JSON null, no TensorBoard
point, "n/a" when printed. NaN and infinities count as undefined too (JSON has neither).
"""

import math
import numbers
from collections.abc import Iterable

UNDEFINED_TEXT = "n/a"


def is_defined(value) -> bool:
    """True for a finite real number; False for None, NaN, infinities, bools and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(value)


def defined_or_none(value):
    """`value` when it is a defined metric, else None."""
    return value if is_defined(value) else None


def ratio(numerator, denominator) -> float | None:
    """`numerator / denominator` as a float; None when the denominator is 0 or either is undefined.

    >>> ratio(3, 4), ratio(0, 0)
    (0.75, None)
    """
    if not (is_defined(numerator) and is_defined(denominator)) or denominator == 0:
        return None
    return float(numerator) / float(denominator)


def mean(values: Iterable) -> float | None:
    """The mean of `values`; None when there are none or any of them is undefined."""
    values = list(values)
    if not values or not all(is_defined(value) for value in values):
        return None
    return math.fsum(values) / len(values)


def format_metric(value, digits: int = 4) -> str:
    """`value` with `digits` decimals, or "n/a" when it is undefined.

    >>> format_metric(0.5), format_metric(None)
    ('0.5000', 'n/a')
    """
    return f"{value:.{digits}f}" if is_defined(value) else UNDEFINED_TEXT


def format_percent(value, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage with `digits` decimals, or "n/a".

    >>> format_percent(0.7125), format_percent(None)
    ('71.2', 'n/a')
    """
    return f"{100 * value:.{digits}f}" if is_defined(value) else UNDEFINED_TEXT
