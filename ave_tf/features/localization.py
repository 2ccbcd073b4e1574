"""Video features -> per-second class probabilities and attention, with an exported AVE model.

The model is the SavedModel's supervised signature (`serving_default`: inputs `audio`
[1, T, 128] and `visual` [1, T, 7, 7, 512]; outputs `probabilities` [1, T, 29], `classes`
[1, T] and `attention` [1, T, 49]). A `Predictor` is any function numpy inputs -> numpy
outputs: a SavedModel loaded here, or a gRPC client (`ave_localize --server`).
"""

import dataclasses
import os
from collections.abc import Callable, Sequence

import numpy as np

from ave_tf.data import schema
from ave_tf.features.extraction import VideoFeatures

AUDIO = "audio"
VISUAL = "visual"
PROBABILITIES = "probabilities"
ATTENTION = "attention"
SERVING_DEFAULT = "serving_default"

Predictor = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


class LocalizationError(ValueError):
    """A model that cannot be loaded or answers with unexpected outputs (names the model)."""


def resolve_saved_model(path: str) -> str:
    """`path` if it holds a SavedModel, else its newest integer version folder (an export base)."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    if os.path.isdir(path):
        versions = [
            int(name)
            for name in os.listdir(path)
            if name.isdigit() and os.path.isfile(os.path.join(path, name, "saved_model.pb"))
        ]
        if versions:
            return os.path.join(path, str(max(versions)))
        raise LocalizationError(
            f"--saved_model: {path} holds neither saved_model.pb nor version folders with one"
        )
    raise LocalizationError(f"--saved_model: {path} does not exist")


def saved_model_predictor(path: str, signature_name: str = SERVING_DEFAULT) -> Predictor:
    """Loads a SavedModel signature; returns a function numpy inputs -> numpy outputs."""
    import tensorflow as tf

    path = resolve_saved_model(path)
    try:
        loaded = tf.saved_model.load(path)
    except (OSError, ValueError, tf.errors.OpError) as e:
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise LocalizationError(f"--saved_model: {path}: cannot load: {reason}") from None
    if signature_name not in loaded.signatures:
        raise LocalizationError(
            f"--saved_model: {path} has no signature {signature_name!r} "
            f"(has {sorted(loaded.signatures)})"
        )
    function = loaded.signatures[signature_name]

    def predict(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = function(**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in outputs.items()}

    predict.loaded = loaded  # keeps the restored objects alive
    predict.description = {"saved_model": os.path.abspath(path), "signature": signature_name}
    return predict


@dataclasses.dataclass
class Localization:
    """The model's answer for one video.

    Attributes:
      probabilities: float32 [T, 29] per-second class probabilities.
      attention: float32 [T, 49] audio-guided visual attention over the 7 x 7 grid, or None
        when the model has no attention output.
    """

    probabilities: np.ndarray
    attention: np.ndarray | None


def run_model(
    features: VideoFeatures, predict: Predictor, class_names: Sequence[str]
) -> Localization:
    """Runs the model on one video's features; checks the shapes of its answer."""
    outputs = predict(
        {
            AUDIO: features.audio[None].astype(np.float32),
            VISUAL: features.visual[None].astype(np.float32),
        }
    )
    t = features.num_segments
    name = getattr(predict, "description", {})
    if PROBABILITIES not in outputs:
        raise LocalizationError(f"{name}: no '{PROBABILITIES}' output (has {sorted(outputs)})")
    probabilities = np.asarray(outputs[PROBABILITIES], np.float32)
    if probabilities.shape != (1, t, len(class_names)):
        raise LocalizationError(
            f"{name}: '{PROBABILITIES}' has shape {list(probabilities.shape)}, "
            f"expected [1, {t}, {len(class_names)}]"
        )
    attention = outputs.get(ATTENTION)
    if attention is not None:
        attention = np.asarray(attention, np.float32).reshape(1, t, -1)[0]
        if attention.shape[1] != schema.VISUAL_CELLS:
            raise LocalizationError(
                f"{name}: '{ATTENTION}' has {attention.shape[1]} cells, expected 49"
            )
    return Localization(probabilities=probabilities[0], attention=attention)


def timeline_document(
    features: VideoFeatures,
    result: Localization,
    events: list,
    class_names: Sequence[str],
    model: dict,
    extraction: dict,
) -> dict:
    """The JSON timeline: the video, per-second top classes and probabilities, the events.

    `events` are dicts with class, class_index, start, end (seconds) and confidence.
    """
    segments = []
    for s, row in enumerate(result.probabilities):
        k = int(row.argmax())
        segments.append(
            {
                "start": float(s),
                "end": float(s + 1),
                "class": class_names[k],
                "class_index": k,
                "probability": round(float(row[k]), 6),
            }
        )
    return {
        "video": os.path.abspath(features.path),
        "video_id": features.video_id,
        "num_segments": features.num_segments,
        "segment_seconds": 1.0,
        "model": model,
        "extraction": extraction,
        "events": events,
        "segments": segments,
        "class_names": list(class_names),
        "probabilities": np.round(result.probabilities.astype(np.float64), 6).tolist(),
    }
