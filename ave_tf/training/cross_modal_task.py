"""The cross-modal task's pieces for a trainer: loss, train step, summaries, DCCA's linear CCA.

How a trainer uses them (`ave_train --task=cross_modal`):

    model = build_cross_modal_model(config)
    step = make_train_step(model, optimizer, config)
    for i, batch in enumerate(make_dataset(data_dir, cross_modal_split(splits, "train"), ...)):
        loss, distances, y = step(batch, tf.constant([seed, i]))
        # TensorBoard: scalar `loss`; histograms of `distance_histograms(distances, y)`.
    finalize_model(model, config, train_dataset)  # DCCA: fit the linear CCA (no-op for AVDLN)
    metrics = evaluate_cross_modal(model, make_dataset(..., cross_modal_split(splits, "test")))

Pairs come from `cross_modal_pairs.cross_modal_train_step_inputs` (one-segment "videos").
AVDLN minimizes the contrastive loss over all pairs; DCCA maximizes the canonical correlation
of the positive pairs only (negatives get weight 0: CCA has no notion of a dissimilar pair).
"""

import numpy as np
import tensorflow as tf

from ave_tf.data import parser, schema
from ave_tf.models.cross_modal import AUDIO_CCA_LAYER, VISUAL_CCA_LAYER, CrossModalConfig
from ave_tf.training.cross_modal_losses import contrastive_loss, dcca_loss
from ave_tf.training.cross_modal_pairs import cross_modal_train_step_inputs


def cross_modal_loss(config: CrossModalConfig, outputs: dict, y):
    """The training loss of a cross-modal model on a batch of pairs.

    Args:
      config: the model's config.
      outputs: the model's outputs on `{"audio": [N, 1, 128], "visual": [N, 1, 7, 7, 512]}`.
      y: [N] pair labels (1 = synchronized).
    """
    if config.method == "avdln":
        return contrastive_loss(outputs["distances"][:, 0], y, config.margin)
    return dcca_loss(
        outputs["audio_tower"][:, 0],
        outputs["visual_tower"][:, 0],
        config.dcca_output_dim,
        config.dcca_reg,
        weights=y,
    )


# The batch keys a train step reads, with shapes general enough to trace the step only once.
_STEP_SIGNATURE = {
    parser.AUDIO: tf.TensorSpec([None, None, schema.AUDIO_DIM], tf.float32),
    parser.VISUAL: tf.TensorSpec([None, None, *schema.VISUAL_SHAPE], tf.float32),
    parser.LABELS: tf.TensorSpec([None, None], tf.int32),
    parser.MASK: tf.TensorSpec([None, None], tf.float32),
}


def make_train_step(model, optimizer, config: CrossModalConfig):
    """A compiled step `(batch, seed [2] int32) -> (loss, distances [N], y [N])`.

    `batch` is a `parse_batch` dict (other keys are ignored); pass a different seed each step
    for fresh negatives. The step is traced once, whatever T and the number of pairs.
    """
    # Creating the optimizer's slots outside the traced function keeps tracing cheap.
    optimizer.build(model.trainable_variables)

    @tf.function(input_signature=[_STEP_SIGNATURE, tf.TensorSpec([2], tf.int32)], autograph=False)
    def compiled_step(batch, seed):
        inputs, y = cross_modal_train_step_inputs(batch, config, seed)
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=True)
            loss = cross_modal_loss(config, outputs, y)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss, outputs["distances"][:, 0], y

    def step(batch, seed):
        return compiled_step({key: batch[key] for key in _STEP_SIGNATURE}, seed)

    return step


def distance_histograms(distances, y) -> dict[str, tf.Tensor]:
    """Distances of positive and negative pairs, for `tf.summary.histogram`."""
    positive = tf.cast(y, tf.bool)
    return {
        "distance/positive": tf.boolean_mask(distances, positive),
        "distance/negative": tf.boolean_mask(distances, ~positive),
    }


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


def finalize_model(model, config: CrossModalConfig, train_dataset) -> dict:
    """Work after the last training step: DCCA fits its linear CCA; AVDLN needs nothing.

    Returns a dict of facts worth logging (DCCA: the canonical correlations).
    """
    if config.method != "dcca":
        return {}
    correlations = fit_linear_cca(model, train_dataset, config)
    return {"canonical_correlations": [float(c) for c in correlations]}
