"""Per-second predictions -> the event timeline of a video (what `ave_query` prints)."""

from collections.abc import Sequence

import numpy as np

BACKGROUND_CLASS = 28  # ave_tf.data.schema.BACKGROUND_CLASS (kept import-free for clients)


def event_timeline(
    probabilities: np.ndarray,
    class_names: Sequence[str],
    num_segments: int | None = None,
    background_class: int = BACKGROUND_CLASS,
    segment_seconds: float = 1.0,
) -> list[dict]:
    """Merges consecutive non-background seconds predicted as the same class into events.

    Args:
      probabilities: [T, C] per-segment class probabilities of one video.
      class_names: C names (index `background_class` = background).
      num_segments: real segments when the rows beyond are padding (default: all T).
      background_class: the class that is not an event.
      segment_seconds: duration of one segment (1 s in AVE).

    Returns:
      Events in time order: `{"class": name, "class_index": k, "start": seconds,
      "end": seconds (exclusive), "confidence": mean probability of k over the event}`.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_names):
        raise ValueError(
            f"probabilities must be [T, {len(class_names)}], got {list(probabilities.shape)}"
        )
    steps = probabilities.shape[0] if num_segments is None else int(num_segments)
    classes = probabilities[:steps].argmax(axis=1)
    events = []
    start = 0
    for t in range(1, steps + 1):
        if t < steps and classes[t] == classes[start]:
            continue
        k = int(classes[start])
        if k != background_class:
            events.append(
                {
                    "class": class_names[k],
                    "class_index": k,
                    "start": start * segment_seconds,
                    "end": t * segment_seconds,
                    "confidence": float(probabilities[start:t, k].mean()),
                }
            )
        start = t
    return events
