"""PNG plots of evaluation results: attention maps, confusion matrix, per-class accuracy.

Only features are stored, not frames, so an audio-guided visual attention map (Fig. 5/6 of
the paper) is drawn as a 7x7 heat map per 1-s segment with its label and prediction. Figures
are rendered with the Agg canvas directly (no pyplot, no display, no global backend switch)
and written atomically.
"""

import io
import os
import tempfile
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ave_tf.data import schema

# Attention strip geometry: the PNG is exactly (T * SEGMENT_WIDTH_INCHES * dpi) pixels wide
# and (STRIP_HEIGHT_INCHES * dpi) pixels high, so images of equal T stack into one batch.
SEGMENT_WIDTH_INCHES = 1.2
STRIP_HEIGHT_INCHES = 1.9
DEFAULT_DPI = 100

_CORRECT_COLOR = "#1a9641"
_WRONG_COLOR = "#d7191c"
_IGNORED_COLOR = "#808080"
_IGNORE_LABEL = -1


def short_name(class_name: str) -> str:
    """The part of an AudioSet-style name before its first comma ("Bark", "Baby cry")."""
    return class_name.split(",")[0].strip()


def _write_bytes_atomic(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _save_png(figure: Figure, path: str) -> None:
    # Render fully in memory first: a failing draw leaves no file behind.
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    _write_bytes_atomic(path, buffer.getvalue())


def _figure_rgb(figure: Figure) -> np.ndarray:
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.array(canvas.buffer_rgba(), dtype=np.uint8)[..., :3]


def _as_maps(attention) -> np.ndarray:
    attention = np.asarray(attention, dtype=np.float32)
    if attention.ndim == 2 and attention.shape[1] == schema.VISUAL_CELLS:
        return attention.reshape(-1, schema.VISUAL_HEIGHT, schema.VISUAL_WIDTH)
    if attention.ndim == 3 and attention.shape[1:] == (schema.VISUAL_HEIGHT, schema.VISUAL_WIDTH):
        return attention
    raise ValueError(f"attention must be [T, 49] or [T, 7, 7], got shape {attention.shape}")


def _caption(label: int, prediction: int, class_names: Sequence[str]) -> tuple[str, str]:
    """The "label / prediction" text under a segment and its color."""
    predicted = short_name(class_names[prediction])
    if label == _IGNORE_LABEL:
        return f"(no label)\n/ {predicted}", _IGNORED_COLOR
    color = _CORRECT_COLOR if label == prediction else _WRONG_COLOR
    return f"{short_name(class_names[label])}\n/ {predicted}", color


def _attention_figure(attention, labels, predictions, class_names, title, dpi) -> Figure:
    maps = _as_maps(attention)
    num_segments = maps.shape[0]
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    predictions = np.asarray(predictions).astype(np.int64).reshape(-1)
    if num_segments == 0:
        raise ValueError("attention has no segments")
    if labels.shape != (num_segments,) or predictions.shape != (num_segments,):
        raise ValueError(
            f"attention has {num_segments} segments but labels/predictions have shapes "
            f"{labels.shape}/{predictions.shape}"
        )
    num_classes = len(class_names)
    for what, values in (("labels", labels[labels != _IGNORE_LABEL]), ("predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{what} must index the {num_classes} class names")

    figure = Figure(figsize=(num_segments * SEGMENT_WIDTH_INCHES, STRIP_HEIGHT_INCHES), dpi=dpi)
    figure.subplots_adjust(left=0.01, right=0.99, top=0.8, bottom=0.3, wspace=0.15)
    axes = figure.subplots(1, num_segments, squeeze=False)[0]
    # One color scale per video: a flat (spread-out) map then looks flat, as in Fig. 6.
    vmax = float(maps.max()) if maps.max() > 0 else 1.0
    for t, ax in enumerate(axes):
        ax.imshow(maps[t], cmap="jet", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        text, color = _caption(int(labels[t]), int(predictions[t]), class_names)
        ax.set_xlabel(text, color=color, fontsize=6.5)
        ax.set_title(f"{t}s", fontsize=7)
        for spine in ax.spines.values():
            spine.set_edgecolor(color)
            spine.set_linewidth(2.5)
    if title:
        figure.suptitle(title, fontsize=8)
    return figure


def plot_attention_maps(
    attention,
    labels,
    predictions,
    class_names: Sequence[str],
    title: str,
    path: str,
    dpi: int = DEFAULT_DPI,
) -> None:
    """Draws one video's attention maps, one 7x7 heat map per segment, in a row, as a PNG.

    Under each map: "label / prediction" (short class names), green when correct, red when
    wrong, grey for unlabeled (-1) segments; the map's frame takes the same color.

    Args:
        attention: [T, 49] (or [T, 7, 7]) attention weights over the VGG-19 pool5 grid,
            row-major as in the visual features.
        labels: int [T] segment labels (-1 = unlabeled).
        predictions: int [T] predicted classes.
        class_names: names indexed by class.
        title: drawn above the row (e.g. the video id); may be empty.
        path: the PNG to write (atomically; its directory is created when missing).
        dpi: pixels per inch; the image is T * 1.2 * dpi by 1.9 * dpi pixels.
    """
    _save_png(_attention_figure(attention, labels, predictions, class_names, title, dpi), path)


def attention_image_grid(
    attention,
    labels,
    predictions,
    class_names: Sequence[str],
    titles: Sequence[str] | None = None,
    dpi: int = DEFAULT_DPI,
) -> np.ndarray:
    """Renders several videos' attention strips as images for `tf.summary.image`.

    Args:
        attention: [N, T, 49] attention weights.
        labels: int [N, T] segment labels (-1 = unlabeled).
        predictions: int [N, T] predicted classes.
        class_names: names indexed by class.
        titles: optional N titles (e.g. video ids).
        dpi: pixels per inch.

    Returns:
        uint8 [N, H, W, 3], one strip per video (H = 1.9 * dpi, W = T * 1.2 * dpi).
    """
    attention = np.asarray(attention)
    if attention.ndim != 3 or attention.shape[0] == 0:
        raise ValueError(f"attention must be [N > 0, T, 49], got shape {attention.shape}")
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    if labels.shape[:1] != attention.shape[:1] or predictions.shape[:1] != attention.shape[:1]:
        raise ValueError(
            f"attention, labels and predictions must have the same batch size, got "
            f"{attention.shape[0]}, {labels.shape[:1]}, {predictions.shape[:1]}"
        )
    if titles is not None and len(titles) != attention.shape[0]:
        raise ValueError(f"expected {attention.shape[0]} titles, got {len(titles)}")
    images = []
    for i in range(attention.shape[0]):
        title = titles[i] if titles is not None else ""
        figure = _attention_figure(attention[i], labels[i], predictions[i], class_names, title, dpi)
        images.append(_figure_rgb(figure))
    return np.stack(images)


def plot_confusion_matrix(
    matrix,
    class_names: Sequence[str],
    path: str,
    normalize: bool = True,
    dpi: int = DEFAULT_DPI,
) -> None:
    """Draws a confusion matrix (rows = truth, columns = prediction) as a PNG heat map.

    Args:
        matrix: [C, C] counts, e.g. `SegmentMetrics.result()["confusion_matrix"]`.
        class_names: C names.
        path: the PNG to write (atomically).
        normalize: divide each row by its total, so cells read as per-class recall.
        dpi: pixels per inch (the figure is 9 x 8 inches).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    num_classes = len(class_names)
    if matrix.shape != (num_classes, num_classes):
        raise ValueError(f"expected a [{num_classes}, {num_classes}] matrix, got {matrix.shape}")
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    names = [short_name(name) for name in class_names]
    figure = Figure(figsize=(9, 8), dpi=dpi)
    figure.subplots_adjust(left=0.17, right=0.9, top=0.95, bottom=0.2)
    ax = figure.subplots()
    image = ax.imshow(
        matrix, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None, interpolation="nearest"
    )
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
    ax.set_xticks(range(num_classes), names, rotation=90, fontsize=6)
    ax.set_yticks(range(num_classes), names, fontsize=6)
    ax.set_xlabel("prediction")
    ax.set_ylabel("truth")
    ax.set_title("confusion matrix" + (" (row-normalized)" if normalize else ""), fontsize=9)
    _save_png(figure, path)


def plot_per_class(
    per_class_by_model: Mapping[str, Mapping[str, float | None]],
    path: str,
    dpi: int = DEFAULT_DPI,
) -> None:
    """Draws per-class accuracies of several models as grouped bars (Supplementary Table 1).

    Args:
        per_class_by_model: {model name: {class name: accuracy as a fraction, or None}},
            e.g. {"ours": result["per_video_class"]}. Paper rows are in percent: divide
            them by 100 first. None values draw no bar.
        path: the PNG to write (atomically).
        dpi: pixels per inch (the figure is max(8, 0.5 * number of classes) x 4.5 inches).
    """
    if not per_class_by_model:
        raise ValueError("per_class_by_model is empty")
    classes = list(dict.fromkeys(c for values in per_class_by_model.values() for c in values))
    num_models = len(per_class_by_model)
    bar_width = 0.8 / num_models
    figure = Figure(figsize=(max(8.0, 0.5 * len(classes)), 4.5), dpi=dpi)
    figure.subplots_adjust(left=0.06, right=0.99, top=0.92, bottom=0.3)
    ax = figure.subplots()
    positions = np.arange(len(classes))
    for m, (model, values) in enumerate(per_class_by_model.items()):
        heights = [np.nan if values.get(c) is None else 100.0 * values[c] for c in classes]
        ax.bar(positions + (m - (num_models - 1) / 2) * bar_width, heights, bar_width, label=model)
    ax.set_xticks(positions, [short_name(c) for c in classes], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(classes) - 0.4)
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("per-class accuracy", fontsize=9)
    ax.legend(fontsize=7, ncols=min(num_models, 4))
    _save_png(figure, path)
