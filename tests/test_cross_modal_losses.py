"""Contrastive loss (eq. 10) on hand-computed cases; DCCA loss values and gradient sanity."""

import numpy as np
import pytest
import tensorflow as tf

from ave_tf.training.cross_modal_losses import contrastive_loss, dcca_loss


def _value(x) -> float:
    return float(np.asarray(x))


@pytest.mark.parametrize(
    "distance, label, expected",
    [
        (0.0, 1, 0.0),  # synchronized and coincident: no loss
        (1.5, 1, 2.25),  # y = 1 -> D^2
        (0.5, 0, 2.25),  # y = 0, inside the margin -> (2 - 0.5)^2
        (2.0, 0, 0.0),  # y = 0, on the margin -> 0
        (3.0, 0, 0.0),  # y = 0, beyond the margin -> 0
    ],
)
def test_contrastive_single_pair(distance, label, expected):
    assert _value(contrastive_loss([distance], [label], margin=2.0)) == pytest.approx(expected)


def test_contrastive_is_the_mean_over_pairs():
    # (0.25 + 1.0 + 0.0 + 4.0) / 4
    loss = contrastive_loss([0.5, 1.0, 3.0, 2.0], [1, 0, 0, 1], margin=2.0)
    assert _value(loss) == pytest.approx(5.25 / 4)


def test_contrastive_margin_and_shape():
    loss = contrastive_loss(np.array([[0.5], [0.25]]), np.array([[0], [0]]), margin=1.0)
    assert _value(loss) == pytest.approx((0.25 + 0.5625) / 2)


def test_contrastive_empty_batch_is_zero():
    assert _value(contrastive_loss(np.zeros([0]), np.zeros([0]))) == 0.0


def test_contrastive_gradient_pushes_negatives_out_and_positives_in():
    distances = tf.Variable([1.0, 1.0])
    with tf.GradientTape() as tape:
        loss = contrastive_loss(distances, tf.constant([1.0, 0.0]))
    gradient = tape.gradient(loss, distances).numpy()
    np.testing.assert_allclose(gradient, [2 * 1.0 / 2, -2 * (2.0 - 1.0) / 2])


def _views(seed=0, count=400, dim=6):
    rng = np.random.default_rng(seed)
    audio = rng.normal(size=(count, dim)).astype(np.float32)
    mixing = rng.normal(size=(dim, dim)).astype(np.float32) + 2 * np.eye(dim, dtype=np.float32)
    return rng, audio, audio @ mixing


def test_dcca_perfectly_correlated_views_reach_minus_out_dim():
    _, audio, visual = _views()
    assert _value(dcca_loss(audio, visual, out_dim=6, reg=1e-4)) == pytest.approx(-6.0, abs=0.02)
    # The top-3 components only.
    assert _value(dcca_loss(audio, visual, out_dim=3, reg=1e-4)) == pytest.approx(-3.0, abs=0.01)


def test_dcca_independent_views_have_low_correlation():
    rng, audio, _ = _views()
    noise = rng.normal(size=audio.shape).astype(np.float32)
    # Sample canonical correlations of independent data are O(sqrt(dim / count)).
    assert -1.5 < _value(dcca_loss(audio, noise, out_dim=6)) <= 0.0


def test_dcca_weights_select_rows():
    rng, audio, visual = _views()
    noisy_visual = np.concatenate([visual[:200], rng.normal(size=(200, 6)).astype(np.float32)])
    weights = np.r_[np.ones(200), np.zeros(200)].astype(np.float32)
    assert _value(dcca_loss(audio, noisy_visual, 6, 1e-4, weights)) == pytest.approx(-6.0, abs=0.03)
    assert _value(dcca_loss(audio, noisy_visual, 6, 1e-4)) > -5.0


def test_dcca_gradient_is_finite_and_ascends_correlation():
    rng, audio, _ = _views(count=256)
    noisy = audio + rng.normal(size=audio.shape).astype(np.float32)
    h_visual = tf.Variable(noisy)
    losses = []
    for _ in range(20):
        with tf.GradientTape() as tape:
            loss = dcca_loss(tf.constant(audio), h_visual, out_dim=6)
        gradient = tape.gradient(loss, h_visual)
        assert np.isfinite(gradient.numpy()).all()
        h_visual.assign_sub(20.0 * gradient)
        losses.append(_value(loss))
    assert losses[-1] < losses[0] - 0.5


def test_dcca_gradient_finite_for_identical_views():
    _, audio, _ = _views()
    h = tf.Variable(audio)
    with tf.GradientTape() as tape:
        loss = dcca_loss(h, h, out_dim=6)
    assert np.isfinite(tape.gradient(loss, h).numpy()).all()


def test_dcca_out_dim_error_names_the_range():
    _, audio, visual = _views()
    with pytest.raises(ValueError, match=r"out_dim must lie in \[1, 6\]"):
        dcca_loss(audio, visual, out_dim=7)
