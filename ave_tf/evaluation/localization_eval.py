"""Runs a localization model over a split and computes the paper's metrics (and a few more)."""

import dataclasses
import weakref

import numpy as np
import tensorflow as tf

from ave_tf.data import parser, schema
from ave_tf.evaluation.metrics import SegmentMetrics
from ave_tf.utils.metric_values import ratio


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def mil_video_logits(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the segment logits over real segments (eq. 7): a video prediction for any model."""
    weights = mask[..., None]
    return (logits * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)


_PREDICT_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def inference_fn(model):
    """model(inputs, training=False) as one tf.function per model, traced once for any B and T."""
    if model not in _PREDICT_FNS:

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None, schema.AUDIO_DIM], tf.float32),
                tf.TensorSpec([None, None, *schema.VISUAL_SHAPE], tf.float32),
            ]
        )
        def predict(audio, visual):
            return model({"audio": audio, "visual": visual}, training=False)

        _PREDICT_FNS[model] = predict
    return _PREDICT_FNS[model]


@dataclasses.dataclass
class AttentionSample:
    """Attention maps and predictions of a few videos, for TensorBoard and PNG plots."""

    video_ids: list
    attention: np.ndarray  # [N, T, 49]
    labels: np.ndarray  # [N, T]
    predictions: np.ndarray  # [N, T]


def evaluate_localization(
    model, dataset: tf.data.Dataset, class_names=None, keep_attention: int = 0
) -> tuple[dict, AttentionSample | None]:
    """Evaluates `model` on batches from `pipeline.make_dataset`.

    Returns (metrics, attention sample). metrics holds the SegmentMetrics result (pooled
    segment `accuracy` = the paper's metric, per-class accuracy, confusion matrix,
    event-vs-background precision/recall), plus `loss` (segment cross-entropy), `video_loss`
    and `video_accuracy` (MIL-pooled video prediction vs the video label). A metric with
    nothing to count (e.g. no labelled segment) is None.
    """
    predict = inference_fn(model)
    metrics = SegmentMetrics(
        num_classes=schema.NUM_CLASSES,
        background_class=schema.BACKGROUND_CLASS,
        **({"class_names": list(class_names)} if class_names else {}),
    )
    seg_loss = seg_count = video_loss = video_count = video_correct = 0.0
    kept_ids, kept_att, kept_labels, kept_pred = [], [], [], []
    for batch in dataset:
        outputs = predict(batch[parser.AUDIO], batch[parser.VISUAL])
        logits = np.asarray(outputs["logits"], np.float32)
        labels = batch[parser.LABELS].numpy()
        mask = batch[parser.MASK].numpy()
        video_labels = batch[parser.VIDEO_LABEL].numpy()
        predictions = logits.argmax(axis=-1)
        metrics.update(labels, predictions, mask=mask, video_labels=video_labels)

        valid = labels >= 0
        log_probs = _log_softmax(logits)
        picked = np.take_along_axis(log_probs, np.maximum(labels, 0)[..., None], -1)[..., 0]
        seg_loss -= float((picked * valid).sum())
        seg_count += float(valid.sum())

        if "video_logits" in outputs:
            video_logits = np.asarray(outputs["video_logits"], np.float32)
        else:
            video_logits = mil_video_logits(logits, mask)
        has_video_label = video_labels >= 0
        video_log_probs = _log_softmax(video_logits)
        picked_video = np.take_along_axis(
            video_log_probs, np.maximum(video_labels, 0)[:, None], -1
        )[:, 0]
        video_loss -= float((picked_video * has_video_label).sum())
        video_count += float(has_video_label.sum())
        video_correct += float(((video_logits.argmax(-1) == video_labels) & has_video_label).sum())

        room = keep_attention - len(kept_ids)
        if room > 0:
            kept_ids += [v.decode("utf-8") for v in batch[parser.VIDEO_ID].numpy()[:room]]
            kept_att.append(np.asarray(outputs["attention"], np.float32)[:room])
            kept_labels.append(labels[:room])
            kept_pred.append(predictions[:room])

    result = metrics.result()
    # None, not 0, on a split without labelled segments (or videos): 0 would look perfect.
    result["loss"] = ratio(seg_loss, seg_count)
    result["video_loss"] = ratio(video_loss, video_count)
    result["video_accuracy"] = ratio(video_correct, video_count)
    sample = None
    if kept_ids:
        sample = AttentionSample(
            kept_ids,
            _concat_padded(kept_att, 0.0),
            _concat_padded(kept_labels, -1),
            _concat_padded(kept_pred, -1),
        )
    return result, sample


def _concat_padded(arrays: list, fill) -> np.ndarray:
    """Concatenates [n_i, T_i, ...] arrays along axis 0, padding T to the longest."""
    longest = max(a.shape[1] for a in arrays)
    padded = [
        np.pad(
            a, [(0, 0), (0, longest - a.shape[1])] + [(0, 0)] * (a.ndim - 2), constant_values=fill
        )
        for a in arrays
    ]
    return np.concatenate(padded)
