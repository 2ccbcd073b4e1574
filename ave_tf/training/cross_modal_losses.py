"""Losses of the cross-modality models, in keras.ops (any Keras backend).

- `contrastive_loss`: AVDLN's loss (eq. 10 of Tian et al., after Hadsell et al. 2006).
- `dcca_loss`: the DCCA baseline's negative total canonical correlation (Andrew et al. 2013).
"""

from keras import ops

# Floors that keep square roots and divisions finite.
_EPSILON = 1e-9


def contrastive_loss(distances, pair_labels, margin: float = 2.0):
    """Contrastive loss of eq. 10, averaged over pairs.

    `L = y * D^2 + (1 - y) * max(0, margin - D)^2` per pair. The mean (not the sum) keeps the
    loss scale, and so the learning rate, independent of how many pairs a batch yields (the
    authors' Keras code also takes the mean). An empty set of pairs gives 0.

    Args:
      distances: [N] (any shape) non-negative distances `D` (eq. 9).
      pair_labels: same shape, 1 for synchronized (positive) pairs, 0 for negatives.
      margin: `th` of eq. 10 (2.0 in the paper).

    Returns:
      A scalar float32 loss.
    """
    distances = ops.reshape(ops.cast(distances, "float32"), (-1,))
    labels = ops.reshape(ops.cast(pair_labels, "float32"), (-1,))
    per_pair = labels * ops.square(distances) + (1.0 - labels) * ops.square(
        ops.relu(margin - distances)
    )
    count = ops.sum(ops.ones_like(per_pair))
    return ops.sum(per_pair) / ops.maximum(count, 1.0)


def _weighted_covariances(h_audio, h_visual, weights, reg: float):
    """Centered (co)variances of the rows with nonzero weight, plus the ridge `reg * I`."""
    total = ops.sum(weights)
    column = weights[:, None]
    audio = h_audio - ops.sum(column * h_audio, axis=0) / ops.maximum(total, _EPSILON)
    visual = h_visual - ops.sum(column * h_visual, axis=0) / ops.maximum(total, _EPSILON)
    denominator = ops.maximum(total - 1.0, 1.0)
    s_aa = ops.matmul(ops.transpose(column * audio), audio) / denominator
    s_vv = ops.matmul(ops.transpose(column * visual), visual) / denominator
    s_av = ops.matmul(ops.transpose(column * audio), visual) / denominator
    s_aa = s_aa + reg * ops.eye(ops.shape(s_aa)[0], dtype="float32")
    s_vv = s_vv + reg * ops.eye(ops.shape(s_vv)[0], dtype="float32")
    return s_aa, s_vv, s_av


def dcca_loss(h_audio, h_visual, out_dim: int, reg: float = 1e-3, weights=None):
    """Negative total correlation of the top `out_dim` canonical pairs (DCCA objective).

    With covariances `S_aa + r I`, `S_vv + r I` and cross-covariance `S_av`, the canonical
    correlations are the singular values of the whitened cross-covariance
    `T = S_aa^-1/2 S_av S_vv^-1/2`; the loss is minus the sum of the largest `out_dim`.
    Whitening uses Cholesky factors (`L_a^-1 S_av L_v^-T` has the same singular values as `T`
    and, unlike an eigendecomposition, has no unstable gradient when eigenvalues repeat), and
    only singular values (not vectors) enter the loss, so the gradient stays finite for
    perfectly correlated or degenerate views.

    Args:
      h_audio: [N, o_a] audio network outputs.
      h_visual: [N, o_v] visual network outputs of the same N pairs.
      out_dim: canonical components summed (<= min(o_a, o_v)); all of them gives the total
        correlation `||T||_tr` of Andrew et al.
      reg: ridge `r1 = r2` added to both covariances (keeps them invertible for small batches).
      weights: optional [N] row weights (e.g. 1 for positive pairs, 0 for negatives), so a
        batch of mixed pairs can be used without dynamic-shape masking.

    Returns:
      A scalar float32 loss in [-out_dim, 0]; about -out_dim for perfectly correlated views.
    """
    h_audio = ops.cast(h_audio, "float32")
    h_visual = ops.cast(h_visual, "float32")
    smallest = min(h_audio.shape[-1], h_visual.shape[-1])
    if not 1 <= out_dim <= smallest:
        raise ValueError(f"dcca_loss: out_dim must lie in [1, {smallest}], got {out_dim}")
    if weights is None:
        weights = ops.ones_like(h_audio[:, 0])
    weights = ops.cast(weights, "float32")
    s_aa, s_vv, s_av = _weighted_covariances(h_audio, h_visual, weights, reg)
    chol_a = ops.cholesky(s_aa)
    chol_v = ops.cholesky(s_vv)
    left = ops.solve_triangular(chol_a, s_av, lower=True)  # L_a^-1 S_av
    whitened = ops.transpose(ops.solve_triangular(chol_v, ops.transpose(left), lower=True))
    singular_values = ops.svd(whitened, compute_uv=False)  # descending
    return -ops.sum(singular_values[:out_dim])
