"""Training-pair construction: labels, kinds per strategy, padding, determinism, model inputs."""

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.models.cross_modal import CrossModalConfig
from ave_tf.training.cross_modal_pairs import (
    BACKGROUND,
    CROSS_VIDEO,
    POSITIVE,
    SHIFTED,
    build_pairs,
    cross_modal_train_step_inputs,
)

BG = 28
# Three videos, T = 4 (padded): every audio/visual vector holds its own (video, time) code, so
# a pair can be traced back to the segments it was built from.
LABELS = np.array([[BG, 3, 3, BG], [5, 5, 5, -1], [BG, BG, -1, -1]], np.int32)
MASK = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]], np.float32)


def _batch():
    code = np.arange(12, dtype=np.float32).reshape(3, 4)
    return {
        "audio": np.repeat(code[..., None], 128, axis=-1),
        "visual": code[..., None, None, None] * np.ones((1, 1, 7, 7, 512), np.float32),
        "labels": LABELS,
        "mask": MASK,
    }


def _segments(pairs):
    """(audio (video, time), visual (video, time)) per pair."""
    audio = pairs["audio"].numpy()[:, 0].astype(int)
    visual = pairs["visual"].numpy()[:, 0, 0, 0].astype(int)
    return [((a // 4, a % 4), (v // 4, v % 4)) for a, v in zip(audio, visual, strict=True)]


POSITIVES = [(0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
BACKGROUNDS = [(0, 0), (0, 3), (2, 0), (2, 1)]


def test_positives_are_synchronized_event_segments():
    for strategy in ("mixed", "background", "shifted", "cross_video"):
        pairs = build_pairs(_batch(), strategy, seed=0)
        kind, y = pairs["kind"].numpy(), pairs["y"].numpy()
        np.testing.assert_array_equal(y, (kind == POSITIVE).astype(np.float32))
        positives = [s for s, k in zip(_segments(pairs), kind, strict=True) if k == POSITIVE]
        assert positives == [(p, p) for p in POSITIVES]


def test_background_strategy_uses_synchronized_background_segments():
    pairs = build_pairs(_batch(), "background", seed=0)
    negatives = _segments(pairs)[len(POSITIVES) :]
    assert negatives == [(b, b) for b in BACKGROUNDS]
    assert (pairs["kind"].numpy()[len(POSITIVES) :] == BACKGROUND).all()


@pytest.mark.parametrize("seed", range(5))
def test_shifted_negatives_are_other_real_segments_of_the_same_video(seed):
    pairs = build_pairs(_batch(), "shifted", seed=seed)
    negatives = _segments(pairs)[len(POSITIVES) :]
    assert [a for a, _ in negatives] == POSITIVES  # one per positive
    for (video, time), (other_video, other_time) in negatives:
        assert other_video == video and other_time != time
        assert MASK[other_video, other_time] == 1  # never a padded segment


@pytest.mark.parametrize("seed", range(5))
def test_cross_video_negatives_come_from_another_video(seed):
    pairs = build_pairs(_batch(), "cross_video", seed=seed)
    negatives = _segments(pairs)[len(POSITIVES) :]
    assert [a for a, _ in negatives] == POSITIVES
    for (video, _), (other_video, other_time) in negatives:
        assert other_video != video and MASK[other_video, other_time] == 1


def test_mixed_is_background_plus_one_mismatch_per_positive():
    counts = np.zeros(4)
    for seed in range(40):
        kind = build_pairs(_batch(), "mixed", seed=seed)["kind"].numpy()
        assert (kind == BACKGROUND).sum() == len(BACKGROUNDS)
        assert ((kind == SHIFTED) | (kind == CROSS_VIDEO)).sum() == len(POSITIVES)
        counts += np.bincount(kind, minlength=4)
    shifted_share = counts[SHIFTED] / (counts[SHIFTED] + counts[CROSS_VIDEO])
    assert 0.35 < shifted_share < 0.65  # shifted_fraction = 0.5


def test_single_video_batch_falls_back_to_shifted():
    batch = {k: v[1:2] for k, v in _batch().items()}
    kind = build_pairs(batch, "mixed", seed=3)["kind"].numpy()
    assert (kind == SHIFTED).sum() == 3 and (kind == CROSS_VIDEO).sum() == 0
    assert (build_pairs(batch, "cross_video", seed=3)["kind"].numpy() == POSITIVE).all()


def test_deterministic_under_a_seed_in_eager_and_graph_mode():
    first = build_pairs(_batch(), "mixed", seed=7)
    again = build_pairs(_batch(), "mixed", seed=7)
    graph = tf.function(lambda batch, seed: build_pairs(batch, "mixed", seed))(
        _batch(), tf.constant([7, 0])
    )
    for key in ("audio", "visual", "kind"):
        np.testing.assert_array_equal(first[key], again[key])
        np.testing.assert_array_equal(first[key], graph[key])
    others = [_segments(build_pairs(_batch(), "mixed", seed=s)) for s in range(1, 6)]
    assert any(o != _segments(first) for o in others)


def test_train_step_inputs_are_one_segment_videos():
    config = CrossModalConfig(negatives="background")
    inputs, y = cross_modal_train_step_inputs(_batch(), config, seed=0)
    assert inputs["audio"].shape == (9, 1, 128)
    assert inputs["visual"].shape == (9, 1, 7, 7, 512)
    np.testing.assert_array_equal(y, [1] * 5 + [0] * 4)


def test_unknown_strategy_is_an_error():
    with pytest.raises(ValueError, match="negatives must be one of"):
        build_pairs(_batch(), "random")
