"""Padding changes neither the training losses nor the cross-modal window search (TensorFlow).

The companion of `test_padding_masks.py` (model outputs) for the parts that need TensorFlow:
`LocalizationTask.loss_and_metrics` on a padded batch equals the count-weighted mean of each
video's loss computed alone, and the sliding-window search (eq. 8) limited by the model's
`segment_mask` finds what it finds on each video alone. (Training pairs never use padded
segments: `test_cross_modal_pairs.py`.)
"""

import keras
import numpy as np
import pytest

from ave_tf.data import parser
from ave_tf.evaluation.cross_modal_search import (
    evaluate_cross_modal,
    localize_window,
    pairwise_distances,
    segment_lengths,
)
from ave_tf.models.cross_modal import CrossModalConfig, build_cross_modal_model
from ave_tf.models.localization import build_localization_model
from ave_tf.training.localization_task import LocalizationTask
from tests.model_configs import tiny_config
from tests.test_padding_masks import _batch, _video, randomize_weights

LENGTHS = (7, 13, 4)  # the video of the other tests, a longer and a shorter one
ATOL = 1e-5

LOSS_CONFIGS = {
    "A+V-att late DMRN LSTM": tiny_config(attention=True, fusion="dmrn"),
    "A+V-att late DMRN BiLSTM": tiny_config(attention=True, fusion="dmrn", temporal="bilstm"),
    "V ED-TCN": tiny_config(modality="visual", temporal="ed_tcn"),
    "W-A+V-att MIL mean": tiny_config(task="weak", attention=True, fusion="dmrn"),
    "W-A+V BiLSTM MIL max": tiny_config(task="weak", temporal="bilstm", mil_pooling="max"),
}


def _labelled(videos, steps, rng):
    """A parse_batch-like dict: features padded to `steps`, labels -1 on padding."""
    batch = _batch(videos, steps)
    lengths = np.array([len(v["audio"]) for v in videos])
    real = np.arange(steps)[None] < lengths[:, None]
    labels = rng.integers(0, 29, size=real.shape)
    batch[parser.LABELS] = np.where(real, labels, -1).astype("int32")
    batch[parser.MASK] = real.astype("float32")
    batch[parser.VIDEO_LABEL] = rng.integers(0, 29, size=len(videos)).astype("int32")
    return batch


def _loss(task, model, batch):
    outputs = model({k: batch[k] for k in ("audio", "visual")})
    return [float(v) for v in task.loss_and_metrics(batch, outputs)]


@pytest.mark.parametrize("name", LOSS_CONFIGS)
def test_batch_loss_is_the_mean_of_the_videos_losses_alone(name):
    config = LOSS_CONFIGS[name]
    keras.utils.set_random_seed(0)
    model = randomize_weights(build_localization_model(config))
    task = LocalizationTask(config.task, config)
    videos = [_video(steps, seed) for seed, steps in enumerate(LENGTHS)]
    batch = _labelled(videos, max(LENGTHS), np.random.default_rng(7))
    totals, corrects, counts = [], [], []
    for index, video in enumerate(videos):
        steps = len(video["audio"])
        alone = {key: value[index : index + 1] for key, value in batch.items()}
        alone.update({key: alone[key][:, :steps] for key in ("audio", "visual", "labels", "mask")})
        loss, correct, count = _loss(task, model, alone)
        totals.append(loss * count)
        corrects.append(correct)
        counts.append(count)
    loss, correct, count = _loss(task, model, batch)
    np.testing.assert_allclose(loss, sum(totals) / sum(counts), atol=ATOL, rtol=0)
    assert (correct, count) == (sum(corrects), sum(counts))


def _search(model, batch, starts, lengths, direction, masked=True):
    outputs = model(batch)
    pairwise = pairwise_distances(outputs["audio_embedding"], outputs["visual_embedding"])
    searched = segment_lengths(outputs["segment_mask"]) if masked else None
    found = localize_window(pairwise, starts, lengths, direction, searched)
    return keras.ops.convert_to_numpy(found)


@pytest.mark.parametrize("method", ["avdln", "dcca"])
def test_window_search_never_enters_padding(method):
    """Every query of the T=7 video finds the same start alone and in batches padded to 10, 13."""
    keras.utils.set_random_seed(0)
    model = randomize_weights(build_cross_modal_model(CrossModalConfig(method=method)))
    video = _video(7, seed=1)
    queries = [(start, length) for start in range(7) for length in range(1, 8 - start)]
    starts = np.array([q[0] for q in queries], "int32")
    lengths = np.array([q[1] for q in queries], "int32")
    reached_padding = False
    for direction in ("a2v", "v2a"):
        alone = [_search(model, _batch([video], 7), s, n, direction)[0] for s, n in queries]
        for steps in (10, 13):
            batch = _batch([video] * len(queries), steps)
            padded = _search(model, batch, starts, lengths, direction)
            np.testing.assert_array_equal(padded, alone, err_msg=f"{direction}, T={steps}")
            unmasked = _search(model, batch, starts, lengths, direction, masked=False)
            reached_padding |= bool(np.any(unmasked + lengths > 7))
    # Without the lengths the search does pick windows in the padding: the mask matters here.
    assert reached_padding


def test_evaluation_of_a_padded_batch_equals_each_video_alone():
    keras.utils.set_random_seed(0)
    model = randomize_weights(build_cross_modal_model(CrossModalConfig()))
    videos = [_video(steps, seed) for seed, steps in enumerate(LENGTHS)]
    events = [(2, 5), (3, 9), (1, 2)]

    def dataset(chosen):
        batch = _batch([videos[i] for i in chosen], max(LENGTHS[i] for i in chosen))
        batch[parser.NUM_SEGMENTS] = np.array([LENGTHS[i] for i in chosen], "int32")
        batch[parser.EVENT_START] = np.array([events[i][0] for i in chosen], "int32")
        batch[parser.EVENT_END] = np.array([events[i][1] for i in chosen], "int32")
        return [batch]

    alone = [evaluate_cross_modal(model, dataset([i])) for i in range(len(videos))]
    together = evaluate_cross_modal(model, dataset(range(len(videos))))
    for direction in ("a2v", "v2a"):
        assert together[direction] == pytest.approx(np.mean([a[direction] for a in alone]))
