"""Evaluation reports: the `ave_eval --output` JSON and markdown tables against the paper.

The paper's numbers are kept here as constants, in percent as printed. Our results are
fractions in [0, 1] (the `ave_eval` JSON); the table renderers scale them to percent.
"""

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np

from ave_tf.data import ave_metadata
from ave_tf.utils import atomic_files
from ave_tf.utils.metric_values import UNDEFINED_TEXT, format_metric, is_defined

# Main paper, Table 1: supervised and weakly-supervised (W-) localization accuracy (%).
PAPER_TABLE1 = {
    "A": 59.5,
    "V": 55.3,
    "V-att": 58.6,
    "A+V": 71.4,
    "A+V-att": 72.7,
    "W-A": 53.4,
    "W-V": 52.9,
    "W-V-att": 55.6,
    "W-A+V": 63.7,
    "W-A+V-att": 66.7,
}

# Main paper, Table 2: fusion stage -> fusion method -> accuracy (%); None where the paper
# has "-". Paper columns: Additive, MP (max), Gated, MB (bilinear), GMU, GMB (gated_bilinear),
# Concat, MRN, DMRN, DMRFE.
PAPER_TABLE2 = {
    "early": {
        "additive": 59.9,
        "max": 67.9,
        "gated": 67.9,
        "bilinear": 69.2,
        "gmu": 70.5,
        "gated_bilinear": 70.2,
        "concat": 61.0,
        "mrn": 69.8,
        "dmrn": 68.0,
        "dmrfe": None,
    },
    "late": {
        "additive": 71.3,
        "max": 71.4,
        "gated": 70.5,
        "bilinear": 70.5,
        "gmu": 71.6,
        "gated_bilinear": 71.0,
        "concat": 72.7,
        "mrn": 70.8,
        "dmrn": 73.1,
        "dmrfe": 73.3,
    },
    "decision": {
        "additive": 70.5,
        "max": 64.5,
        "gated": 65.2,
        "bilinear": 64.6,
        "gmu": 67.6,
        "gated_bilinear": 67.3,
        "concat": 69.7,
        "mrn": 63.8,
        "dmrn": 70.4,
        "dmrfe": None,
    },
}

# Main paper, Table 3: cross-modality localization accuracy (%), exact matches only.
PAPER_TABLE3 = {
    "AVDLN": {"a2v": 44.8, "v2a": 35.6},
    "DCCA": {"a2v": 34.8, "v2a": 34.1},
}

# Sec. 6.3: ED-TCN trained on AVE (same visual features as the V model).
PAPER_ED_TCN = 46.9
# The model zoo's papers (test accuracy, %): PSP (CVPR 2021), CMBS (CVPR 2022), CACE-Net (2024).
PAPER_ZOO = {"PSP": 77.8, "PSP (weak)": 73.5, "CMBS": 79.3, "CMBS (weak)": 74.2, "CACE-Net": 80.8}

# Supplementary Table 1 column names, in the order of ave_meta/categories.txt (label index).
# fmt: off
PAPER_SHORT_CLASS_NAMES = (
    "bell", "man", "dog", "plane", "car", "woman", "copt.", "violin", "flute", "ukul.",
    "frying", "truck", "shofar", "moto.", "guitar", "train", "clock", "banjo", "goat", "baby",
    "bus", "chain.", "cat", "horse", "toilet", "rodent", "acco.", "mand.",
)

# Supplementary Table 1 rows (%), columns as PAPER_SHORT_CLASS_NAMES.
_SUPP_TABLE1_ROWS = {
    "A": (
        83.9, 54.1, 49.4, 51.1, 40.0, 36.5, 44.1, 66.1, 81.8, 78.1, 77.8, 20.0, 61.0, 34.4,
        70.6, 65.3, 81.3, 84.4, 53.0, 61.3, 8.3, 68.1, 30.0, 8.3, 70.6, 49.0, 60.7, 64.7,
    ),
    "V_s": (
        76.7, 40.6, 44.1, 68.3, 60.6, 24.7, 50.6, 44.4, 44.7, 17.5, 70.6, 69.2, 40.0, 66.7,
        57.8, 73.5, 79.4, 45.6, 62.0, 51.3, 60.0, 73.1, 23.3, 35.0, 60.6, 42.0, 66.0, 41.3,
    ),
    "AV_s": (
        84.4, 57.6, 55.3, 77.2, 56.7, 72.4, 53.5, 80.6, 87.6, 80.0, 80.0, 75.4, 60.0, 68.9,
        63.9, 88.8, 81.3, 76.1, 75.0, 57.5, 41.7, 83.1, 61.7, 33.3, 83.9, 57.0, 74.7, 63.3,
    ),
}
# fmt: on


def _event_class_names() -> tuple[str, ...]:
    return ave_metadata.class_names()[: len(PAPER_SHORT_CLASS_NAMES)]


def paper_supp_table1() -> dict[str, dict[str, float]]:
    """Supplementary Table 1 rows A, V_s, AV_s: {row: {class name: accuracy (%)}}.

    Class names are those of `ave_tf.data.ave_metadata.class_names()`. Each value is the
    accuracy over all segments of the test videos of that class, i.e. our `per_video_class`
    metric. Weighted by the number of test videos per class, the A and AV_s rows give back
    the published overall 59.5 and 71.4; the V_s row gives 54.3 (the paper prints 55.3).
    """
    names = _event_class_names()
    return {row: dict(zip(names, values, strict=True)) for row, values in _SUPP_TABLE1_ROWS.items()}


def short_class_names() -> dict[str, str]:
    """{AVE class name: the paper's short column name} ("Church bell" -> "bell")."""
    return dict(zip(_event_class_names(), PAPER_SHORT_CLASS_NAMES, strict=True))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) over seeds; std is 0.0 for one value.

    Raises:
        ValueError: when `values` is empty.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("mean_std needs at least one value")
    std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return float(np.mean(values)), std


def to_jsonable(value):
    """Recursively turns numpy values, tuples and non-finite floats into plain JSON values.

    NaN and infinities become None (JSON has no NaN); mapping keys become strings.
    """
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def write_eval_json(path: str, result: Mapping, extra: Mapping | None = None) -> None:
    """Writes an evaluation result (plus `extra` keys such as split or model_dir) atomically.

    Args:
        path: the output file; its directory is created when missing.
        result: metrics, e.g. `SegmentMetrics.result()` (fractions in [0, 1]).
        extra: additional top-level keys; they may not shadow a metric.

    Raises:
        ValueError: when an `extra` key already is a key of `result`.
    """
    extra = dict(extra or {})
    clashes = sorted(set(extra) & set(result))
    if clashes:
        raise ValueError(f"{path}: extra keys {clashes} would overwrite metrics")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    atomic_files.write_json_atomic(path, to_jsonable({**result, **extra}))


def lookup_paper(paper: Mapping, name: str):
    """The paper number for `name`; "/" walks nested tables ("late/dmrn", "AVDLN/a2v")."""
    value = paper
    for part in name.split("/"):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return None if isinstance(value, Mapping) else value


def _format_ours(values, scale: float, digits: int, with_count: bool) -> str:
    """A dash without results, "n/a" when every seed's metric is undefined (None)."""
    if not values:
        return "-"
    defined = [value for value in values if is_defined(value)]
    if not defined:
        return UNDEFINED_TEXT
    mean, std = mean_std(defined)
    text = f"{mean * scale:.{digits}f}"
    if len(defined) > 1:  # one seed has no spread to show
        text += f" ± {std * scale:.{digits}f}"
    if not with_count:
        return text
    undefined = len(values) - len(defined)
    return f"{text} (n={len(defined)}" + (f", {undefined} n/a)" if undefined else ")")


def _defined_mean(values) -> float | None:
    defined = [value for value in values if is_defined(value)]
    return mean_std(defined)[0] if defined else None


def _format_number(value, digits: int) -> str:
    """A paper number; "-" where the paper has none (as printed in the paper)."""
    return "-" if value is None else f"{value:.{digits}f}"


def _render(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + "\n"


def markdown_table(
    rows: Sequence[Mapping],
    paper: Mapping,
    *,
    name_header: str = "model",
    scale: float = 100.0,
    digits: int = 1,
    extra_headers: Sequence[str] = (),
) -> str:
    """One line per model: | model | paper | ours mean ± std (n seeds) | Δ | (extra ...) |.

    Works for every paper table: flat names for Table 1 ("A+V-att"), "/"-paths into nested
    tables for Tables 2 and 3 ("late/dmrn", "AVDLN/a2v").

    Args:
        rows: dicts with `name` (looked up in `paper`) and `values` (one result per seed, as
            fractions, None where undefined); an optional `label` replaces `name` in the first
            column.
        paper: a paper table (percent), e.g. `PAPER_TABLE1` or `PAPER_TABLE2`.
        name_header: the first column's header.
        scale: multiplies our values (100: fractions -> percent).
        digits: decimals printed.
        extra_headers: headers of more columns; each row's `extra` holds their texts.

    Returns:
        The markdown table, newline-terminated. Missing numbers print as "-", undefined ones
        (every seed None) as "n/a"; Δ is our mean minus the paper's number.

    Example:

    >>> print(markdown_table([{"name": "A", "values": [0.6, 0.62]}], PAPER_TABLE1), end="")
    | model | paper | ours mean ± std (n seeds) | Δ |
    |---|---|---|---|
    | A | 59.5 | 61.0 ± 1.4 (n=2) | +1.5 |
    """
    body = []
    for row in rows:
        values = list(row.get("values", ()))
        paper_value = lookup_paper(paper, row["name"])
        ours = _defined_mean(values)
        delta = "-"
        if ours is not None and paper_value is not None:
            delta = f"{ours * scale - paper_value:+.{digits}f}"
        body.append(
            [
                str(row.get("label", row["name"])),
                _format_number(paper_value, digits),
                _format_ours(values, scale, digits, with_count=True),
                delta,
                *(str(text) for text in row.get("extra", ("-",) * len(extra_headers))),
            ]
        )
    return _render([name_header, "paper", "ours mean ± std (n seeds)", "Δ", *extra_headers], body)


def _ordered_union(*key_lists) -> list:
    seen = {}
    for keys in key_lists:
        for key in keys:
            seen.setdefault(key, None)
    return list(seen)


def markdown_grid(
    results: Mapping[str, Mapping[str, Sequence[float]]],
    paper: Mapping[str, Mapping[str, float | None]],
    *,
    corner: str = "",
    scale: float = 100.0,
    digits: int = 1,
) -> str:
    """A two-way table laid out like the paper's: cells "ours mean ± std (paper X)".

    A cell shows "-" for a missing result of ours, "n/a" for an undefined one (every seed
    None), and omits "(paper X)" where the paper has no number; one seed prints its value
    without "± std".

    Suits Table 2 (fusion stage x fusion method), Table 3 (model x A2V/V2A) and the
    supplementary per-class table (model x class). Rows and columns come in the paper's
    order, then those only in `results`.

    Args:
        results: {row: {column: [one result per seed, fractions, None where undefined]}}.
        paper: {row: {column: percent or None}}, e.g. `PAPER_TABLE2`.
        corner: the header of the row-name column.
        scale: multiplies our values (100: fractions -> percent).
        digits: decimals printed.

    Returns:
        The markdown table, newline-terminated; "-" where a number is missing.
    """
    row_names = _ordered_union(paper, results)
    column_names = _ordered_union(
        *(paper[row] for row in paper), *(results[row] for row in results)
    )
    body = []
    for row in row_names:
        cells = [str(row)]
        for column in column_names:
            values = list(results.get(row, {}).get(column, ()))
            paper_value = paper.get(row, {}).get(column)
            cell = _format_ours(values, scale, digits, with_count=False)
            if paper_value is not None:
                cell += f" (paper {paper_value:.{digits}f})"
            cells.append(cell)
        body.append(cells)
    return _render([corner] + [str(column) for column in column_names], body)


def summary_text(result: Mapping) -> str:
    """A few human-readable lines for a console: the paper's metric first; "n/a" = undefined."""
    lines = []
    if "accuracy" in result and not is_defined(result["accuracy"]):
        lines.append("accuracy: n/a (no labelled segments)")
    elif "accuracy" in result:
        lines.append(
            f"accuracy: {result['accuracy']:.4f} over {result.get('num_segments', '?')} "
            f"segments of {result.get('num_videos', '?')} videos"
        )
    for key in ("mean_class_accuracy", "mean_video_accuracy", "a2v", "v2a"):
        if key in result:
            lines.append(f"{key}: {format_metric(result[key])}")
    detection = result.get("event_vs_background")
    if detection:
        parts = [f"{k}={format_metric(detection.get(k))}" for k in ("precision", "recall", "f1")]
        lines.append("event vs background: " + " ".join(parts))
    return "\n".join(lines) + "\n"
