"""The PNG of `ave_localize`: per-second class probabilities, the event bar, attention maps.

Three panels sharing the time axis: a heat map of the 29 class probabilities per second
(the top class marked), a bar with the predicted events (class, confidence), and a row of
frames (the middle sampled frame of each segment) with the 7 x 7 audio-guided attention map
overlaid (Fig. 5 of the paper). Long videos show `max_frames` evenly spaced segments.
"""

import os
import tempfile
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import gridspec  # noqa: E402

from ave_tf.data import schema  # noqa: E402

MAX_FRAMES = 10


def _frame_indices(num_segments: int, max_frames: int) -> np.ndarray:
    if num_segments <= max_frames:
        return np.arange(num_segments)
    return np.unique(np.linspace(0, num_segments - 1, max_frames).round().astype(int))


def plot_timeline(
    path: str,
    probabilities: np.ndarray,
    events: list,
    class_names: Sequence[str],
    frames: np.ndarray | None = None,
    attention: np.ndarray | None = None,
    title: str = "",
    max_frames: int = MAX_FRAMES,
) -> str:
    """Writes the timeline PNG to `path` atomically.

    Args:
      path: the PNG file.
      probabilities: [T, C] per-second class probabilities.
      events: dicts with class, start, end, confidence (seconds).
      class_names: C names.
      frames: uint8 [T, H, W, 3], one frame per segment (None: no frame row).
      attention: [T, 49] attention over the 7 x 7 grid (None: frames without overlay).
      title: figure title (the video).
      max_frames: most frames shown.
    """
    t, num_classes = probabilities.shape
    shown = _frame_indices(t, max_frames) if frames is not None else np.arange(0)
    width = max(8.0, min(1.3 * max(t, len(shown)), 22.0))
    heights = [4.0, 0.7] + ([1.8] if len(shown) else [])
    figure = plt.figure(figsize=(width, sum(heights) + 0.8))
    grid = gridspec.GridSpec(len(heights), 1, height_ratios=heights, hspace=0.45, figure=figure)

    heat = figure.add_subplot(grid[0])
    image = heat.imshow(
        probabilities.T,
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
        extent=(0, t, num_classes - 0.5, -0.5),
    )
    top = probabilities.argmax(axis=1)
    heat.scatter(np.arange(t) + 0.5, top, marker="o", s=12, c="white", edgecolors="black")
    heat.set_yticks(range(num_classes))
    heat.set_yticklabels(class_names, fontsize=5)
    heat.set_ylabel("class")
    heat.set_title(title or "per-second class probabilities", fontsize=9)
    # An inset colorbar keeps the heat map as wide as the panels below (shared time axis).
    figure.colorbar(image, cax=heat.inset_axes([1.01, 0.0, 0.012, 1.0]))

    bar = figure.add_subplot(grid[1], sharex=heat)
    bar.broken_barh([(0, t)], (0, 1), facecolors="0.85")
    colors = plt.get_cmap("tab20")
    for event in events:
        start, end = event["start"], event["end"]
        bar.broken_barh(
            [(start, end - start)], (0, 1), facecolors=colors(event["class_index"] % 20)
        )
        bar.text(
            (start + end) / 2,
            0.5,
            f"{event['class']} ({event['confidence']:.2f})",
            ha="center",
            va="center",
            fontsize=7,
            clip_on=True,
        )
    bar.set_yticks([])
    bar.set_xlim(0, t)
    bar.set_xlabel("time (s)")
    bar.set_ylabel("events", rotation=0, ha="right", va="center", fontsize=8)

    if len(shown):
        row = gridspec.GridSpecFromSubplotSpec(1, len(shown), subplot_spec=grid[2], wspace=0.05)
        for column, s in enumerate(shown):
            axis = figure.add_subplot(row[column])
            height, width_px = frames[s].shape[:2]
            axis.imshow(frames[s])
            if attention is not None:
                grid_map = attention[s].reshape(schema.VISUAL_HEIGHT, schema.VISUAL_WIDTH)
                axis.imshow(
                    grid_map,
                    cmap="jet",
                    alpha=0.45,
                    interpolation="bilinear",
                    extent=(0, width_px, height, 0),
                )
            axis.set_title(f"{s}-{s + 1} s", fontsize=7)
            axis.axis("off")

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            figure.savefig(f, format="png", dpi=100, bbox_inches="tight")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        plt.close(figure)
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
