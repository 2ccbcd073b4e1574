"""Segment-level event localization metrics (pure numpy, streaming).

The paper's metric (Sec. 6.2) is the overall accuracy: every 1-s test segment, background
included as the 29th class, pooled over all test videos. Averaging per-video accuracies gives
a different number whenever videos have different numbers of valid segments; it is reported
separately as `mean_video_accuracy` and is not the paper's metric.
"""

from collections.abc import Sequence

import numpy as np

from ave_tf.data import ave_metadata, schema
from ave_tf.utils.metric_values import mean, ratio

IGNORE_LABEL = -1


class SegmentMetrics:
    """Streaming accumulator of supervised (or weak) segment-level localization metrics.

    Feed batches with `update()`, read every metric with `result()`. All state is a few
    integer count arrays, so evaluating a whole split costs O(num_classes^2) memory.

    Two per-class accuracies are reported, because the paper's Supplementary Table 1 groups
    segments by the class of their *video*:

    - `per_class`: by segment label, i.e. the recall of each class (background included):
      among the segments whose label is `c`, the fraction predicted `c`.
    - `per_video_class`: the paper's Supplementary Table 1 definition: over all segments of
      the videos of class `c` (their event segments and their background segments alike), the
      fraction predicted correctly. With the shipped test split, the test-video-weighted mean
      of the published A and AV_s rows reproduces their overall accuracy (59.5, 71.4), which
      confirms this reading.

    A class with no segments gets `None` (JSON null), never 0.

    Args:
        num_classes: number of classes, background included.
        background_class: index of the background ("no audio-visual event") class.
        class_names: one name per class; defaults to the AVE names of
            `ave_tf.data.ave_metadata.class_names()` (which requires 29 classes).

    Example:

    >>> metrics = SegmentMetrics()
    >>> metrics.update(labels=[[3, 3, 28]], predictions=[[3, 28, 28]], video_labels=[3])
    >>> round(metrics.result()["accuracy"], 3)
    0.667
    """

    def __init__(
        self,
        num_classes: int = schema.NUM_CLASSES,
        background_class: int = schema.BACKGROUND_CLASS,
        class_names: Sequence[str] | None = None,
    ):
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if not 0 <= background_class < num_classes:
            raise ValueError(f"background_class {background_class} is outside [0, {num_classes})")
        if class_names is None:
            class_names = ave_metadata.class_names()
        if len(class_names) != num_classes:
            raise ValueError(f"expected {num_classes} class names, got {len(class_names)}")
        self.num_classes = num_classes
        self.background_class = background_class
        self.class_names = tuple(class_names)
        self.reset()

    def reset(self) -> None:
        """Forgets every update."""
        n = self.num_classes
        self._confusion = np.zeros([n, n], dtype=np.int64)
        self._video_class_correct = np.zeros([n], dtype=np.int64)
        self._video_class_total = np.zeros([n], dtype=np.int64)
        self._num_videos = 0
        self._sum_video_accuracy = 0.0

    def update(self, labels, predictions, mask=None, video_labels=None) -> None:
        """Accumulates one batch.

        Args:
            labels: int [B, T] segment labels; `-1` marks padded/unlabeled segments, which
                are ignored.
            predictions: int [B, T] predicted classes (e.g. argmax of the probabilities).
                Values at ignored positions are not checked.
            mask: optional [B, T] (bool, int or float); segments where it is 0 are ignored.
            video_labels: optional int [B] video-level class (the parser's `video_label`),
                used by `per_video_class`. Where it is absent or negative, the video class is
                inferred from the segment labels: the most frequent event class, else
                background (exact for AVE, where a video holds one event class).

        Raises:
            ValueError: on mismatched shapes or class indices outside [0, num_classes).
        """
        labels = np.asarray(labels)
        predictions = np.asarray(predictions)
        if labels.ndim != 2:
            raise ValueError(f"labels must be [batch, time], got shape {labels.shape}")
        if predictions.shape != labels.shape:
            raise ValueError(
                f"predictions shape {predictions.shape} != labels shape {labels.shape}"
            )
        labels = labels.astype(np.int64)
        predictions = predictions.astype(np.int64)
        valid = labels != IGNORE_LABEL
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != labels.shape:
                raise ValueError(f"mask shape {mask.shape} != labels shape {labels.shape}")
            valid &= mask != 0
        self._check_range("labels", labels[valid])
        self._check_range("predictions", predictions[valid])

        n = self.num_classes
        truth, guess = labels[valid], predictions[valid]
        self._confusion += np.bincount(truth * n + guess, minlength=n * n).reshape(n, n)

        correct_per_video = np.sum((labels == predictions) & valid, axis=1)
        valid_per_video = np.sum(valid, axis=1)
        has_segments = valid_per_video > 0
        video_classes = self._video_classes(labels, valid, video_labels)[has_segments]
        self._video_class_correct += np.bincount(
            video_classes, weights=correct_per_video[has_segments], minlength=n
        ).astype(np.int64)
        self._video_class_total += np.bincount(
            video_classes, weights=valid_per_video[has_segments], minlength=n
        ).astype(np.int64)
        self._num_videos += int(np.sum(has_segments))
        self._sum_video_accuracy += float(
            np.sum(correct_per_video[has_segments] / valid_per_video[has_segments])
        )

    def _check_range(self, what: str, values: np.ndarray) -> None:
        bad = values[(values < 0) | (values >= self.num_classes)]
        if bad.size:
            raise ValueError(
                f"{what} must be class indices in [0, {self.num_classes}) "
                f"(or {IGNORE_LABEL} for ignored labels), found {int(bad[0])}"
            )

    def _video_classes(self, labels, valid, video_labels) -> np.ndarray:
        batch = labels.shape[0]
        if video_labels is None:
            video_labels = np.full([batch], -1, dtype=np.int64)
        video_labels = np.asarray(video_labels).astype(np.int64).reshape(-1)
        if video_labels.shape != (batch,):
            raise ValueError(f"video_labels must be [{batch}], got shape {video_labels.shape}")
        self._check_range("video_labels", video_labels[video_labels >= 0])
        inferred = video_labels.copy()
        for row in np.flatnonzero(video_labels < 0):
            events = labels[row][valid[row] & (labels[row] != self.background_class)]
            if events.size:
                inferred[row] = np.bincount(events, minlength=self.num_classes).argmax()
            else:
                inferred[row] = self.background_class
        return inferred

    def confusion_matrix(self) -> np.ndarray:
        """int64 [num_classes, num_classes] counts; rows are the truth, columns the prediction."""
        return self._confusion.copy()

    def result(self) -> dict:
        """Every metric as a JSON-ready dict (accuracies are fractions in [0, 1]).

        Returns:
            A dict with
            - `accuracy`: the paper's metric, correct / all valid segments, pooled.
            - `per_class`: {class name: accuracy over segments labelled that class, or None}.
            - `per_video_class`: {class name: accuracy over all segments of the videos of that
              class (Supplementary Table 1), or None}.
            - `mean_class_accuracy`: mean of the non-None `per_class` values (background
              included).
            - `mean_video_accuracy`: mean over videos of each video's accuracy (not the
              paper's metric).
            - `event_vs_background`: {precision, recall, f1, true_positives, false_positives,
              false_negatives, true_negatives} with "event" (any non-background class) as the
              positive class, whatever the event class.
            - `confusion_matrix`: nested lists [num_classes][num_classes], rows = truth.
            - `class_names`, `num_segments`, `num_videos`.
            Ratios with an empty denominator are None.
        """
        confusion = self._confusion
        num_segments = int(confusion.sum())
        per_class_total = confusion.sum(axis=1)
        per_class = {
            name: ratio(confusion[c, c], per_class_total[c])
            for c, name in enumerate(self.class_names)
        }
        per_video_class = {
            name: ratio(self._video_class_correct[c], self._video_class_total[c])
            for c, name in enumerate(self.class_names)
        }
        return {
            "accuracy": ratio(np.trace(confusion), num_segments),
            "per_class": per_class,
            "per_video_class": per_video_class,
            "mean_class_accuracy": mean(v for v in per_class.values() if v is not None),
            "mean_video_accuracy": ratio(self._sum_video_accuracy, self._num_videos),
            "event_vs_background": self._event_vs_background(),
            "confusion_matrix": confusion.tolist(),
            "class_names": list(self.class_names),
            "num_segments": num_segments,
            "num_videos": self._num_videos,
        }

    def _event_vs_background(self) -> dict:
        bg = self.background_class
        confusion = self._confusion
        true_negatives = int(confusion[bg, bg])
        false_positives = int(confusion[bg].sum()) - true_negatives
        false_negatives = int(confusion[:, bg].sum()) - true_negatives
        true_positives = int(confusion.sum()) - true_negatives - false_positives - false_negatives
        precision = ratio(true_positives, true_positives + false_positives)
        recall = ratio(true_positives, true_positives + false_negatives)
        f1 = ratio(2 * true_positives, 2 * true_positives + false_positives + false_negatives)
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "true_positives": true_positives,
            "false_positives": false_positives,
            "false_negatives": false_negatives,
            "true_negatives": true_negatives,
        }


def video_accuracy(video_labels, video_predictions) -> float | None:
    """Video-level classification accuracy, e.g. for the weakly-supervised (MIL) outputs.

    Args:
        video_labels: int [N] video classes; negative entries are ignored.
        video_predictions: int [N] predicted classes, or [N, num_classes] scores/probabilities
            (their argmax is taken).

    Returns:
        The fraction of correctly classified videos, or None when no video is labelled.
    """
    video_labels = np.asarray(video_labels).astype(np.int64).reshape(-1)
    video_predictions = np.asarray(video_predictions)
    if video_predictions.ndim == 2:
        video_predictions = np.argmax(video_predictions, axis=-1)
    video_predictions = video_predictions.astype(np.int64).reshape(-1)
    if video_predictions.shape != video_labels.shape:
        raise ValueError(
            f"video_predictions has {video_predictions.shape[0]} videos, "
            f"video_labels has {video_labels.shape[0]}"
        )
    labelled = video_labels >= 0
    correct = np.sum(video_predictions[labelled] == video_labels[labelled])
    return ratio(correct, np.sum(labelled))
