"""`ave_localize` with a tiny SavedModel built here: JSON timeline and PNG plot from a video."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from video_fixtures import write_video

from ave_tf.data import ave_metadata, schema
from ave_tf.features.extraction import VideoFeatures
from ave_tf.features.localization import (
    LocalizationError,
    resolve_saved_model,
    run_model,
    saved_model_predictor,
)
from ave_tf.features.timeline_plot import plot_timeline

CLASS_NAMES = ave_metadata.class_names()
BARK = CLASS_NAMES.index("Bark")


class PlantedEventModel(tf.Module):
    """The serving_default interface of an exported AVE model, with a planted answer.

    Every segment from the second one on is "Bark" (the audio nudges the probabilities a
    little), and the attention is a softmax over the 49 visual cells, so it depends on the
    visual features it is given.
    """

    def __init__(self, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.audio_weights = tf.Variable(rng.standard_normal([128, 29]).astype(np.float32))
        self.cell_weights = tf.Variable(rng.standard_normal([512]).astype(np.float32))

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, 128], tf.float32, name="audio"),
            tf.TensorSpec([None, None, 7, 7, 512], tf.float32, name="visual"),
        ]
    )
    def serve(self, audio, visual):
        batch, steps = tf.shape(audio)[0], tf.shape(audio)[1]
        planted = tf.where(tf.range(steps) >= 1, BARK, schema.BACKGROUND_CLASS)
        logits = 6.0 * tf.one_hot(planted, 29)[None] + 0.1 * tf.tanh(audio @ self.audio_weights)
        probabilities = tf.nn.softmax(logits)
        cells = tf.reshape(visual, [batch, steps, 49, 512])
        scores = tf.einsum("btcd,d->btc", cells, self.cell_weights)
        scores = scores / (tf.math.reduce_std(scores, axis=-1, keepdims=True) + 1e-6)
        return {
            "probabilities": probabilities,
            "classes": tf.argmax(probabilities, axis=-1),
            "attention": tf.nn.softmax(scores),
        }


@pytest.fixture(scope="module")
def export_base(tmp_path_factory):
    """An export base with versions 1 and 2 (the newest must be used)."""
    base = tmp_path_factory.mktemp("export") / "ave"
    for version in (1, 2):
        module = PlantedEventModel(seed=version)
        tf.saved_model.save(
            module, str(base / str(version)), signatures={"serving_default": module.serve}
        )
    return str(base)


def _ave_localize(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ave_tf.bin.ave_localize", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_video_to_timeline_json_and_png(export_base, tmp_path):
    video = write_video(str(tmp_path / "barking.mp4"), duration=3.0)
    out = tmp_path / "result"
    result = _ave_localize(
        video,
        f"--saved_model={export_base}",
        f"--out={out}",
        "--random_weights",
        "--frames_per_second=1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1.0 -    3.0 s  Bark" in result.stdout

    timeline = json.loads((out / "timeline.json").read_text())
    assert timeline["video"] == os.path.abspath(video)
    assert timeline["num_segments"] == 3
    assert timeline["model"]["saved_model"].endswith(os.path.join("ave", "2"))
    assert [s["class"] for s in timeline["segments"]] == ["background", "Bark", "Bark"]
    (event,) = timeline["events"]
    assert (event["class"], event["start"], event["end"]) == ("Bark", 1.0, 3.0)
    assert 0.8 < event["confidence"] <= 1.0
    probabilities = np.array(timeline["probabilities"])
    assert probabilities.shape == (3, 29)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)

    with Image.open(out / "timeline.png") as png:
        assert png.format == "PNG"
        width, height = png.size
        pixels = np.asarray(png.convert("RGB"), dtype=np.float32)
    assert width > 400 and height > 300
    assert pixels.std() > 10  # not blank
    assert sorted(os.listdir(out)) == ["timeline.json", "timeline.png"]  # no temporaries


def test_errors_are_one_line_and_name_the_input(tmp_path):
    result = _ave_localize(
        str(tmp_path / "missing.mp4"),
        f"--saved_model={tmp_path / 'no_model'}",
        f"--out={tmp_path / 'out'}",
        "--random_weights",
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "error: --saved_model:" in last and "no_model does not exist" in last
    assert not (tmp_path / "out").exists()


def test_saved_model_resolution_and_signature_errors(export_base, tmp_path):
    assert resolve_saved_model(export_base).endswith(os.path.join("ave", "2"))
    version_one = os.path.join(export_base, "1")
    assert resolve_saved_model(version_one) == version_one
    (tmp_path / "empty").mkdir()
    with pytest.raises(LocalizationError, match="neither saved_model.pb"):
        resolve_saved_model(str(tmp_path / "empty"))
    with pytest.raises(LocalizationError, match="no signature 'weak'"):
        saved_model_predictor(export_base, "weak")


def test_run_model_checks_output_shapes(export_base):
    predict = saved_model_predictor(export_base)
    rng = np.random.default_rng(0)
    features = VideoFeatures(
        video_id="v",
        path="v.mp4",
        audio=rng.random([4, 128], dtype=np.float32),
        visual=rng.random([4, 7, 7, 512], dtype=np.float32),
    )
    result = run_model(features, predict, CLASS_NAMES)
    assert result.probabilities.shape == (4, 29)
    assert result.attention.shape == (4, 49)
    np.testing.assert_allclose(result.attention.sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(LocalizationError, match=r"expected \[1, 4, 30\]"):
        run_model(features, predict, list(CLASS_NAMES) + ["extra"])


def test_plot_long_video_without_attention(tmp_path):
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(29), size=25).astype(np.float32)
    frames = rng.integers(0, 256, [25, 32, 32, 3], dtype=np.uint8)
    events = [{"class": "Bark", "class_index": BARK, "start": 3.0, "end": 9.0, "confidence": 0.7}]
    path = plot_timeline(
        str(tmp_path / "long.png"), probabilities, events, CLASS_NAMES, frames, max_frames=6
    )
    with Image.open(path) as png:
        assert png.format == "PNG"
    assert os.listdir(tmp_path) == ["long.png"]


@pytest.mark.slow
def test_server_mode_through_ave_serve(export_base, tmp_path):
    """--server with the package's own TF-Serving stand-in (ave_serve) on a free port."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ave_tf.bin.ave_serve",
            f"--model_base_path={export_base}",
            "--port=0",
            "--host=127.0.0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = None
        for line in server.stdout:
            if "listening on" in line:
                address = line.strip().rsplit(" ", 1)[-1]
                break
        assert address, "ave_serve did not start"
        video = write_video(str(tmp_path / "served.webm"), duration=2.0)
        result = _ave_localize(
            video,
            f"--server={address}",
            f"--out={tmp_path / 'out'}",
            "--random_weights",
            "--frames_per_second=1",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        timeline = json.loads((tmp_path / "out" / "timeline.json").read_text())
        assert timeline["model"]["server"] == address
        assert [e["class"] for e in timeline["events"]] == ["Bark"]
    finally:
        server.terminate()
        server.wait(timeout=30)
