"""SegmentMetrics and video_accuracy against hand-computed small cases."""

import numpy as np
import pytest

from ave_tf.data import ave_metadata, schema
from ave_tf.evaluation.metrics import SegmentMetrics, video_accuracy

BG = schema.BACKGROUND_CLASS
NAMES = ave_metadata.class_names()


def test_accuracy_is_pooled_over_segments_not_averaged_over_videos():
    # Video 0: 10 valid segments, 9 correct. Video 1: 2 valid segments, none correct.
    labels = np.array([[BG, BG, 2, 2, 2, 2, 2, 2, BG, BG], [5, 5] + [-1] * 8])
    predictions = labels.copy()
    predictions[0, 0] = 2
    predictions[1, :2] = BG
    metrics = SegmentMetrics()
    metrics.update(labels, predictions)
    result = metrics.result()
    assert result["accuracy"] == pytest.approx(9 / 12)
    assert result["mean_video_accuracy"] == pytest.approx((9 / 10 + 0 / 2) / 2)
    assert result["num_segments"] == 12
    assert result["num_videos"] == 2


def test_ignored_labels_and_mask_are_not_counted():
    labels = np.array([[1, 1, -1, 1]])
    # Predictions at ignored positions may be anything, even out of range.
    predictions = np.array([[1, 0, 99, 0]])
    mask = np.array([[1.0, 1.0, 1.0, 0.0]])
    metrics = SegmentMetrics()
    metrics.update(labels, predictions, mask=mask)
    result = metrics.result()
    assert result["num_segments"] == 2
    assert result["accuracy"] == pytest.approx(0.5)
    # A row with nothing valid is not a video.
    metrics.update(np.full([1, 4], -1), np.zeros([1, 4], np.int64))
    assert metrics.result()["num_videos"] == 1


def test_event_vs_background_precision_recall_f1():
    labels = np.array([[BG, BG, 3, 3, 3, 5]])
    predictions = np.array([[BG, 3, 3, 7, BG, BG]])
    metrics = SegmentMetrics()
    metrics.update(labels, predictions)
    detection = metrics.result()["event_vs_background"]
    # TN: seg 0. FP: seg 1. TP (any event class counts): segs 2, 3. FN: segs 4, 5.
    assert detection["true_negatives"] == 1
    assert detection["false_positives"] == 1
    assert detection["true_positives"] == 2
    assert detection["false_negatives"] == 2
    assert detection["precision"] == pytest.approx(2 / 3)
    assert detection["recall"] == pytest.approx(2 / 4)
    assert detection["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))


def test_confusion_matrix_rows_are_truth_and_sum_to_segment_count():
    labels = np.array([[0, 0, 0, BG], [1, 1, -1, -1]])
    predictions = np.array([[0, 1, BG, BG], [1, 0, 4, 4]])
    metrics = SegmentMetrics()
    metrics.update(labels, predictions)
    result = metrics.result()
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (29, 29)
    assert matrix.sum() == result["num_segments"] == 6
    assert matrix[0, 0] == 1 and matrix[0, 1] == 1 and matrix[0, BG] == 1
    assert matrix[1, 1] == 1 and matrix[1, 0] == 1
    assert matrix[BG, BG] == 1
    assert list(matrix.sum(axis=1)[[0, 1, BG]]) == [3, 2, 1]
    np.testing.assert_array_equal(metrics.confusion_matrix(), matrix)


def test_per_class_is_segment_recall_and_missing_classes_are_none():
    labels = np.array([[BG, 2, 2, 2, BG]])
    predictions = np.array([[2, 2, 2, BG, BG]])
    metrics = SegmentMetrics()
    metrics.update(labels, predictions, video_labels=[2])
    result = metrics.result()
    per_class = result["per_class"]
    assert list(per_class) == list(NAMES)
    assert per_class["Bark"] == pytest.approx(2 / 3)
    assert per_class["background"] == pytest.approx(1 / 2)
    assert per_class["Church bell"] is None
    assert sum(value is None for value in per_class.values()) == 27
    assert result["mean_class_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_per_video_class_counts_every_segment_of_the_videos_of_a_class():
    # A Bark video (event segments and background segments) and a Cat video.
    labels = np.array([[BG, 2, 2, 2, BG], [22, 22, 22, 22, 22]])
    predictions = np.array([[2, 2, 2, BG, BG], [22, 22, BG, BG, BG]])
    metrics = SegmentMetrics()
    metrics.update(labels, predictions, video_labels=[2, 22])
    per_video_class = metrics.result()["per_video_class"]
    assert per_video_class["Bark"] == pytest.approx(3 / 5)
    assert per_video_class["Cat"] == pytest.approx(2 / 5)
    assert per_video_class["background"] is None
    assert per_video_class["Horse"] is None


def test_video_class_is_inferred_from_segment_labels_when_not_given():
    labels = np.array([[BG, 7, 7, BG], [BG, BG, BG, BG]])
    predictions = np.array([[BG, 7, BG, BG], [BG, 3, BG, BG]])
    given, inferred = SegmentMetrics(), SegmentMetrics()
    given.update(labels, predictions, video_labels=[7, BG])
    inferred.update(labels, predictions, video_labels=[-1, -1])
    assert inferred.result() == given.result()
    missing = SegmentMetrics()
    missing.update(labels, predictions)
    assert missing.result()["per_video_class"] == given.result()["per_video_class"]
    assert given.result()["per_video_class"]["Violin, fiddle"] == pytest.approx(3 / 4)


def test_streaming_updates_equal_one_update():
    rng = np.random.default_rng(0)
    labels = rng.integers(-1, 29, size=(6, 10))
    predictions = rng.integers(0, 29, size=(6, 10))
    video_labels = rng.integers(0, 29, size=6)
    whole, parts = SegmentMetrics(), SegmentMetrics()
    whole.update(labels, predictions, video_labels=video_labels)
    parts.update(labels[:2], predictions[:2], video_labels=video_labels[:2])
    parts.update(labels[2:], predictions[2:], video_labels=video_labels[2:])
    streamed, at_once = parts.result(), whole.result()
    # Only the float sum of per-video accuracies depends on the summation order.
    assert streamed.pop("mean_video_accuracy") == pytest.approx(at_once.pop("mean_video_accuracy"))
    assert streamed == at_once
    parts.reset()
    assert parts.result()["num_segments"] == 0


def test_empty_metrics_are_none_not_zero():
    result = SegmentMetrics().result()
    assert result["accuracy"] is None
    assert result["mean_class_accuracy"] is None
    assert result["event_vs_background"]["precision"] is None
    assert all(value is None for value in result["per_class"].values())


def test_custom_class_names_and_bad_inputs():
    metrics = SegmentMetrics(num_classes=3, background_class=2, class_names=["a", "b", "bg"])
    metrics.update([[0, 2]], [[0, 1]])
    assert metrics.result()["per_class"] == {"a": 1.0, "b": None, "bg": 0.0}
    with pytest.raises(ValueError, match="labels must be class indices"):
        metrics.update([[3]], [[0]])
    with pytest.raises(ValueError, match="predictions must be class indices"):
        metrics.update([[0]], [[5]])
    with pytest.raises(ValueError, match="predictions shape"):
        metrics.update([[0, 1]], [[0]])
    with pytest.raises(ValueError, match="mask shape"):
        metrics.update([[0, 1]], [[0, 1]], mask=[[1]])
    with pytest.raises(ValueError, match=r"video_labels must be \[1\]"):
        metrics.update([[0, 1]], [[0, 1]], video_labels=[0, 1])
    with pytest.raises(ValueError, match="expected 3 class names"):
        SegmentMetrics(num_classes=3, background_class=2, class_names=["a"])


def test_video_accuracy_accepts_classes_or_scores_and_ignores_unlabelled():
    assert video_accuracy([1, 2, 3, -1], [1, 0, 3, 3]) == pytest.approx(2 / 3)
    scores = np.eye(4)[[1, 2, 0]]
    assert video_accuracy([1, 2, 3], scores) == pytest.approx(2 / 3)
    assert video_accuracy([-1], [0]) is None
    with pytest.raises(ValueError, match="3 videos"):
        video_accuracy([1, 2], [1, 2, 3])


def test_metrics_consume_the_parser_output_of_real_records():
    tf = pytest.importorskip("tensorflow")
    from ave_tf.data import example_codec, parser

    rng = np.random.default_rng(1)
    records = []
    for vid, num_segments, start, end, class_index in (("a", 4, 1, 3, 2), ("b", 2, 0, 2, 5)):
        labels = np.full([num_segments], BG)
        labels[start:end] = class_index
        records.append(
            example_codec.encode_video(
                video_id=vid,
                audio=rng.random((num_segments, 128)).astype(np.float32),
                visual=rng.random((num_segments, 7, 7, 512)).astype(np.float32),
                labels=labels,
                class_index=class_index,
                class_name=NAMES[class_index],
                event_start=start,
                event_end=end,
                source="test",
            )
        )
    batch = parser.parse_batch(tf.constant(records))
    labels = batch["labels"].numpy()
    predictions = np.full(labels.shape, BG)  # an all-background predictor
    metrics = SegmentMetrics()
    metrics.update(labels, predictions, batch["mask"].numpy(), batch["video_label"].numpy())
    result = metrics.result()
    # 6 real segments (the padded 2 of video b ignored), 2 of them background.
    assert result["num_segments"] == 6
    assert result["accuracy"] == pytest.approx(2 / 6)
    assert result["per_video_class"]["Bark"] == pytest.approx(2 / 4)
    assert result["per_video_class"]["Female speech, woman speaking"] == pytest.approx(0.0)
