"""Sliding-window search (eq. 8) against a brute-force loop, and the evaluation protocol."""

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.evaluation.cross_modal_search import (
    cross_modal_split,
    evaluate_cross_modal,
    localize,
    localize_window,
    pairwise_distances,
)
from ave_tf.models.cross_modal import CrossModalConfig, build_cross_modal_model


def _brute_force(pairwise, start, length, direction, searched=None):
    """Eq. 8 as written: try every start, sum the distances, keep the first minimum."""
    matrix = pairwise if direction == "a2v" else pairwise.T  # rows: query, columns: searched
    searched = matrix.shape[1] if searched is None else searched
    scores = [
        sum(float(matrix[start + k, s + k]) for k in range(length))
        for s in range(searched - length + 1)
    ]
    return int(np.argmin(scores))


def test_pairwise_distances_match_numpy():
    rng = np.random.default_rng(0)
    audio, visual = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 4, 5))
    expected = np.linalg.norm(audio[:, :, None] - visual[:, None], axis=-1)
    np.testing.assert_allclose(pairwise_distances(audio, visual), expected, rtol=1e-5)


def test_localize_window_matches_brute_force_on_random_inputs():
    rng = np.random.default_rng(1)
    for _ in range(100):
        batch = int(rng.integers(1, 4))
        steps_a, steps_v = int(rng.integers(1, 13)), int(rng.integers(1, 13))
        pairwise = rng.random((batch, steps_a, steps_v)).astype(np.float32)
        direction = str(rng.choice(["a2v", "v2a"]))
        rows, columns = (steps_a, steps_v) if direction == "a2v" else (steps_v, steps_a)
        searched = rng.integers(1, columns + 1, size=batch)
        length = np.array([rng.integers(1, min(rows, s) + 1) for s in searched])
        start = np.array([rng.integers(0, rows - n + 1) for n in length])
        got = np.asarray(localize_window(pairwise, start, length, direction, searched))
        want = [
            _brute_force(pairwise[b], start[b], length[b], direction, searched[b])
            for b in range(batch)
        ]
        np.testing.assert_array_equal(got, want)


def test_scalar_query_and_ties_go_to_the_earliest_start():
    pairwise = np.ones((1, 6, 6), np.float32)  # every window scores the same
    assert int(localize_window(pairwise, 2, 3, "a2v")[0]) == 0
    pairwise[0, 2, 3] = pairwise[0, 3, 4] = 0.0  # audio [2, 4) matches visual [3, 5)
    assert int(localize_window(pairwise, 2, 2, "a2v")[0]) == 3
    assert int(localize_window(pairwise, 3, 2, "v2a")[0]) == 2


def test_variable_t_inside_tf_function():
    search = tf.function(
        lambda pairwise, start, length: localize_window(pairwise, start, length, "v2a"),
        input_signature=[
            tf.TensorSpec([None, None, None], tf.float32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.int32),
        ],
    )
    rng = np.random.default_rng(2)
    for steps in (3, 10, 7):
        pairwise = rng.random((2, steps, steps)).astype(np.float32)
        got = search(pairwise, tf.constant([0, steps - 2]), tf.constant(2)).numpy()
        want = [
            _brute_force(pairwise[0], 0, 2, "v2a"),
            _brute_force(pairwise[1], steps - 2, 2, "v2a"),
        ]
        np.testing.assert_array_equal(got, want)
    # Inside a graph an impossible query cannot raise: it returns -1.
    assert (search(rng.random((1, 3, 3)).astype(np.float32), [0], 4).numpy() == -1).all()


@pytest.mark.parametrize(
    "start, length, match",
    [
        (0, 0, "empty event"),
        (0, 7, "longer than the searched video"),
        (5, 2, "does not lie inside"),
        (-1, 2, "does not lie inside"),
    ],
)
def test_impossible_queries_are_clear_errors(start, length, match):
    with pytest.raises(ValueError, match=match):
        localize_window(np.zeros((1, 6, 6), np.float32), start, length, "a2v")


def test_unknown_direction_is_an_error():
    with pytest.raises(ValueError, match="direction must be one of"):
        localize_window(np.zeros((1, 2, 2), np.float32), 0, 1, "a2a")


def _code_model(inputs, training=False):
    """A stand-in model whose embeddings are the first two feature channels."""
    audio = np.asarray(inputs["audio"])[..., :2]
    visual = np.asarray(inputs["visual"]).mean(axis=(2, 3))[..., :2]
    return {"audio_embedding": audio, "visual_embedding": visual}


def _video(audio_codes, visual_codes, start, end, steps=6):
    audio = np.zeros((steps, 128), np.float32)
    visual = np.zeros((steps, 7, 7, 512), np.float32)
    audio[:, 0] = audio_codes
    visual[:, :, :, 0] = np.asarray(visual_codes, np.float32)[:, None, None]
    return audio, visual, start, end


def _batch(videos, lengths):
    return {
        "audio": np.stack([v[0] for v in videos]),
        "visual": np.stack([v[1] for v in videos]),
        "event_start": np.array([v[2] for v in videos], np.int32),
        "event_end": np.array([v[3] for v in videos], np.int32),
        "num_segments": np.array(lengths, np.int32),
    }


def test_evaluation_protocol_on_a_hand_made_case():
    t = np.arange(6, dtype=np.float32)
    synchronized = _video(t, t, 2, 4)  # both directions exact
    lagging = _video(t, t - 1, 1, 3)  # visual lags by 1: A2V finds 2, V2A finds 0, both wrong
    empty = _video(t, t, 0, 0)  # skipped (empty event)
    full = _video(t, t, 0, 6)  # skipped (the event covers the whole video)
    # Four real segments, then padding that would win if the search looked at it.
    padded = _video([0, 1, 2, 3, 1.5, 0], [0, 1.5, 2, 3, 0, 1], 1, 2)
    dataset = [
        _batch([synchronized, lagging, empty], [6, 6, 6]),
        _batch([full, padded], [6, 4]),
    ]
    metrics = evaluate_cross_modal(_code_model, dataset)
    assert metrics == {
        "a2v": pytest.approx(2 / 3),
        "v2a": pytest.approx(2 / 3),
        "videos": 3,
        "skipped_empty": 1,
        "skipped_full": 1,
    }
    assert evaluate_cross_modal(_code_model, dataset, max_batches=1)["videos"] == 2


def test_evaluation_without_short_events_is_an_error():
    t = np.arange(6, dtype=np.float32)
    with pytest.raises(ValueError, match="no video with a short event"):
        evaluate_cross_modal(_code_model, [_batch([_video(t, t, 0, 6)], [6])])


def test_localize_one_video_and_its_errors():
    model = build_cross_modal_model(CrossModalConfig(hidden_size=8, embedding_dim=4))
    rng = np.random.default_rng(3)
    audio = rng.normal(size=(5, 128)).astype(np.float32)
    visual = rng.normal(size=(5, 7, 7, 512)).astype(np.float32)
    outputs = model({"audio": audio[None], "visual": visual[None]})
    pairwise = np.asarray(
        pairwise_distances(outputs["audio_embedding"], outputs["visual_embedding"])
    )
    assert localize(model, audio, visual, 1, 3, "a2v") == _brute_force(pairwise[0], 1, 2, "a2v")
    assert localize(model, audio, visual, 1, 3, "v2a") == _brute_force(pairwise[0], 1, 2, "v2a")
    with pytest.raises(ValueError, match="T mismatch: audio has 5 segments, visual has 4"):
        localize(model, audio, visual[:4], 0, 2, "a2v")
    with pytest.raises(ValueError, match="empty event"):
        localize(model, audio, visual, 2, 2, "a2v")
    with pytest.raises(ValueError, match="longer than the video"):
        localize(model, audio, visual, 0, 6, "a2v")
    with pytest.raises(ValueError, match="outside the video"):
        localize(model, audio, visual, 4, 6, "v2a")


def test_match_split_is_preferred():
    assert cross_modal_split(["train", "test", "test_match"]) == "test_match"
    assert cross_modal_split(["train", "test"]) == "test"
    assert cross_modal_split({"train_match": {}}, "train") == "train_match"
