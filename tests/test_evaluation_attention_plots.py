"""PNG plots: valid files of the documented size, image batches for TensorBoard, atomicity."""

import os

import numpy as np
import pytest
from PIL import Image

from ave_tf.data import ave_metadata
from ave_tf.evaluation import attention_plots

NAMES = ave_metadata.class_names()
BG = 28


def _video(rng, num_segments=10):
    attention = rng.dirichlet(np.ones(49), size=num_segments).astype(np.float32)
    labels = np.array([BG, BG, 2, 2, 2, 2, 2, BG, BG, -1][:num_segments])
    predictions = np.where(labels < 0, 5, labels)
    predictions[0] = 2  # one wrong segment
    return attention, labels, predictions


def test_plot_attention_maps_writes_png_of_documented_size(tmp_path):
    attention, labels, predictions = _video(np.random.default_rng(0))
    path = tmp_path / "plots" / "video.png"
    attention_plots.plot_attention_maps(
        attention, labels, predictions, NAMES, "video 0", str(path), dpi=50
    )
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (10 * 1.2 * 50, 1.9 * 50)  # (width, height)
    assert os.listdir(path.parent) == ["video.png"]


def test_attention_maps_show_the_data(tmp_path):
    # A single hot cell must change the picture: the plot is not a constant template.
    rng = np.random.default_rng(0)
    attention, labels, predictions = _video(rng, num_segments=3)
    flat = np.full_like(attention, 1 / 49)
    hot = flat.copy()
    hot[:, 24] = 1.0
    images = attention_plots.attention_image_grid(
        np.stack([flat, hot]), np.stack([labels] * 2), np.stack([predictions] * 2), NAMES, dpi=40
    )
    assert not np.array_equal(images[0], images[1])


def test_attention_image_grid_shape_and_dtype():
    rng = np.random.default_rng(1)
    videos = [_video(rng, num_segments=4) for _ in range(3)]
    attention, labels, predictions = (np.stack(parts) for parts in zip(*videos, strict=True))
    images = attention_plots.attention_image_grid(
        attention, labels, predictions, NAMES, titles=["a", "b", "c"], dpi=40
    )
    assert images.dtype == np.uint8
    assert images.shape == (3, round(1.9 * 40), round(4 * 1.2 * 40), 3)
    assert images.min() < 128 < images.max()


def test_attention_inputs_are_checked(tmp_path):
    attention, labels, predictions = _video(np.random.default_rng(2))
    path = str(tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"\[T, 49\]"):
        attention_plots.plot_attention_maps(attention[:, :48], labels, predictions, NAMES, "", path)
    with pytest.raises(ValueError, match="10 segments"):
        attention_plots.plot_attention_maps(attention, labels[:9], predictions, NAMES, "", path)
    with pytest.raises(ValueError, match="predictions must index"):
        attention_plots.plot_attention_maps(attention, labels, predictions + 40, NAMES, "", path)
    with pytest.raises(ValueError, match="titles"):
        attention_plots.attention_image_grid(
            attention[None], labels[None], predictions[None], NAMES, titles=["a", "b"]
        )
    assert not os.listdir(tmp_path)


def test_failed_render_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / "video.png"
    path.write_bytes(b"previous")

    def broken_savefig(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(attention_plots.Figure, "savefig", broken_savefig)
    attention, labels, predictions = _video(np.random.default_rng(3))
    with pytest.raises(RuntimeError, match="disk full"):
        attention_plots.plot_attention_maps(attention, labels, predictions, NAMES, "", str(path))
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["video.png"]


def test_failed_write_removes_temporary_file(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(attention_plots.os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename failed"):
        attention_plots.plot_confusion_matrix(np.eye(29), NAMES, str(tmp_path / "cm.png"), dpi=20)
    assert not os.listdir(tmp_path)


def test_plot_confusion_matrix_and_per_class(tmp_path):
    matrix = np.eye(29, dtype=np.int64) * 5 + 1
    cm_path = tmp_path / "confusion.png"
    attention_plots.plot_confusion_matrix(matrix, NAMES, str(cm_path), dpi=30)
    with Image.open(cm_path) as image:
        assert image.format == "PNG" and image.size == (9 * 30, 8 * 30)
    with pytest.raises(ValueError, match=r"\[29, 29\]"):
        attention_plots.plot_confusion_matrix(matrix[:3], NAMES, str(cm_path))

    per_class = {
        "ours": {name: i / 29 for i, name in enumerate(NAMES)},
        "paper AV_s": {"Church bell": 0.844, "background": None},
    }
    bars_path = tmp_path / "per_class.png"
    attention_plots.plot_per_class(per_class, str(bars_path), dpi=30)
    with Image.open(bars_path) as image:
        assert image.format == "PNG"
        assert image.size == (0.5 * 29 * 30, round(4.5 * 30))
    with pytest.raises(ValueError, match="empty"):
        attention_plots.plot_per_class({}, str(bars_path))


def test_short_name():
    assert attention_plots.short_name("Male speech, man speaking") == "Male speech"
    assert attention_plots.short_name("background") == "background"
