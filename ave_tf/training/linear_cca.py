"""DCCA's second stage: a linear CCA fitted on the trained networks' outputs (Andrew et al. 2013).

The deep networks are trained to make their outputs maximally correlated; the linear CCA then
finds the canonical directions themselves on the training pairs (synchronized event segments)
and stores them in the model's `LinearCCAProjection` layers, so saved weights and exported
models carry them.
"""

import numpy as np

from ave_tf.data import parser, schema
from ave_tf.models.cross_modal import AUDIO_CCA_LAYER, VISUAL_CCA_LAYER, CrossModalConfig


def linear_cca(h_audio: np.ndarray, h_visual: np.ndarray, components: int, reg: float):
    """Linear CCA of two views (float64 numpy).

    Returns:
      `(audio_mean, audio_projection, visual_mean, visual_projection, correlations)`: the
      projections map centered views onto their top `components` canonical directions, whitened
      (unit variance, pairwise uncorrelated), with positive canonical correlations (descending).
    """
    h_audio = np.asarray(h_audio, np.float64)
    h_visual = np.asarray(h_visual, np.float64)
    count = h_audio.shape[0]
    if count < 2:
        raise ValueError(f"linear CCA needs at least 2 positive pairs, got {count}")
    audio_mean, visual_mean = h_audio.mean(0), h_visual.mean(0)
    audio, visual = h_audio - audio_mean, h_visual - visual_mean
    s_aa = audio.T @ audio / (count - 1) + reg * np.eye(audio.shape[1])
    s_vv = visual.T @ visual / (count - 1) + reg * np.eye(visual.shape[1])
    s_av = audio.T @ visual / (count - 1)

    def inverse_sqrt(matrix):
        values, vectors = np.linalg.eigh(matrix)
        return vectors @ np.diag(np.maximum(values, 1e-12) ** -0.5) @ vectors.T

    whiten_a, whiten_v = inverse_sqrt(s_aa), inverse_sqrt(s_vv)
    u, correlations, vt = np.linalg.svd(whiten_a @ s_av @ whiten_v)
    audio_projection = whiten_a @ u[:, :components]
    visual_projection = whiten_v @ vt.T[:, :components]
    return audio_mean, audio_projection, visual_mean, visual_projection, correlations[:components]


def fit_linear_cca(model, dataset, config: CrossModalConfig, max_batches: int | None = None):
    """Fits DCCA's linear CCA on the event (positive) segments of `dataset`, stores it in `model`.

    Args:
      model: a DCCA model from `build_cross_modal_model`.
      dataset: an iterable of `parse_batch` dicts (the training split).
      config: the model's config.
      max_batches: use at most this many batches (None = all).

    Returns:
      The canonical correlations [dcca_output_dim] on those pairs (descending).
    """
    if config.method != "dcca":
        raise ValueError(f"fit_linear_cca needs a DCCA model, got method={config.method!r}")
    audio_rows, visual_rows = [], []
    for index, batch in enumerate(dataset):
        if max_batches is not None and index >= max_batches:
            break
        outputs = model(
            {"audio": batch[parser.AUDIO], "visual": batch[parser.VISUAL]}, training=False
        )
        labels = np.asarray(batch[parser.LABELS])
        event = (np.asarray(batch[parser.MASK]) > 0) & (labels >= 0)
        event &= labels != schema.BACKGROUND_CLASS
        audio_rows.append(np.asarray(outputs["audio_tower"])[event])
        visual_rows.append(np.asarray(outputs["visual_tower"])[event])
    if not audio_rows:
        raise ValueError("fit_linear_cca: the dataset yielded no batches")
    audio_mean, audio_projection, visual_mean, visual_projection, correlations = linear_cca(
        np.concatenate(audio_rows),
        np.concatenate(visual_rows),
        config.dcca_output_dim,
        config.dcca_reg,
    )
    model.get_layer(AUDIO_CCA_LAYER).set_projection(audio_mean, audio_projection)
    model.get_layer(VISUAL_CCA_LAYER).set_projection(visual_mean, visual_projection)
    return correlations
