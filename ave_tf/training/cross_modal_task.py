"""`ave_train --task=cross_modal`: the cross-modal task for the generic trainer, and its pieces.

`CrossModalTask` follows the trainer's task protocol (see `trainer.py` and
`localization_task.py`): `train_splits`, `select` (mapped over parsed batches in tf.data),
`model_inputs`, `loss_and_metrics`, `validate`, `selection_metric`/`selection_mode`.

- Data: the `*_match` splits when the dataset has them (the authors' cross-modal protocol; the
  regular `train` and `val` splits overlap `test_match`), else the regular ones.
- `select` turns a batch of videos into training pairs (`cross_modal_pairs`): N one-segment
  "videos" `audio` [N, 1, 128], `visual` [N, 1, 7, 7, 512] and `pair_labels` [N]. Negatives are
  seeded by the task seed and the batch's video ids, so each epoch's reshuffled batches get
  fresh negatives and a rerun gets the same ones. With `train_pairs: shuffled_segments` the
  trainer takes `train_input` instead: the authors' table of segment pairs (`segment_pairs`),
  read once and reshuffled every epoch.
- AVDLN minimizes the contrastive loss over all pairs; DCCA maximizes the canonical
  correlation of the positive pairs only (negatives get weight 0: CCA has no notion of a
  dissimilar pair).
- Validation: A2V and V2A exact-match accuracy (`evaluate_cross_modal`); the model is selected
  on their mean (`val_localization_accuracy`). DCCA fits its linear CCA first (on the training
  split when the task knows `data_dir`, else on the validation videos), so the saved best weights
  carry the CCA projection. The validation pairs' loss and distance histograms (positive and
  negative pairs) go to TensorBoard.

Without the generic trainer, `make_train_step` is a self-contained compiled step, and
`finalize_model` fits DCCA's linear CCA after training.
"""

import tensorflow as tf

from ave_tf.data import parser, pipeline, schema
from ave_tf.data.dataset_info import load_dataset_info
from ave_tf.evaluation.cross_modal_search import cross_modal_split, evaluate_cross_modal
from ave_tf.models.cross_modal import CrossModalConfig
from ave_tf.models.registry import build_model
from ave_tf.training.cross_modal_losses import contrastive_loss, dcca_loss
from ave_tf.training.cross_modal_pairs import build_pairs, cross_modal_train_step_inputs
from ave_tf.training.linear_cca import fit_linear_cca
from ave_tf.training.segment_pairs import PAIR_LABELS, SegmentPairs
from ave_tf.training.task_registry import register_task
from ave_tf.utils.metric_values import mean

_MODEL_INPUTS = (parser.AUDIO, parser.VISUAL)


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


def finalize_model(model, config: CrossModalConfig, train_dataset) -> dict:
    """Work after the last training step: DCCA fits its linear CCA; AVDLN needs nothing.

    Returns a dict of facts worth logging (DCCA: the canonical correlations).
    """
    if config.method != "dcca":
        return {}
    correlations = fit_linear_cca(model, train_dataset, config)
    return {"canonical_correlations": [float(c) for c in correlations]}


def _global_mean(total: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """total / count summed over all replicas, so each replica's gradient sums to the mean."""
    context = tf.distribute.get_replica_context()
    global_count = context.all_reduce(tf.distribute.ReduceOp.SUM, count) if context else count
    return total / tf.maximum(global_count, 1.0)


@register_task("cross_modal")
class CrossModalTask:
    """Cross-modality localization (AVDLN or DCCA) as a task of the generic trainer.

    Args:
      model_config: a `CrossModalConfig`.
      seed: seeds the negative pairs.
      data_dir: the dataset directory; lets DCCA fit its linear CCA on the training split at
        each validation (without it, the CCA is fitted on the validation videos).
    """

    selection_metric = "val_localization_accuracy"
    selection_mode = "max"
    serving_role = "cross_modal"

    def __init__(self, model_config: CrossModalConfig, seed: int = 0, data_dir: str | None = None):
        self.task = "cross_modal"
        self.model_config = model_config.validate()
        self.seed = seed
        self.data_dir = data_dir

    @classmethod
    def from_experiment(cls, experiment) -> "CrossModalTask":
        # DCCA fits its linear CCA on the training split, which it reads from data_dir.
        data_dir = experiment.data.data_dir or None
        return cls(experiment.model, seed=experiment.trainer.seed, data_dir=data_dir)

    def build_model(self, use_cudnn="auto"):
        return build_model(self.model_config, use_cudnn=use_cudnn)

    @staticmethod
    def train_splits(available_splits) -> list[str]:
        return [cross_modal_split(available_splits, "train")]

    @staticmethod
    def validation_split(available_splits, requested: str = "val") -> str:
        """The split to validate on: `val_match` when present (see the module docstring)."""
        return cross_modal_split(available_splits, requested)

    def train_input(self, data_dir: str, splits: list[str]) -> SegmentPairs | None:
        """The trainer's input when it is not batches of videos (None: it is)."""
        if self.model_config.train_pairs != "shuffled_segments":
            return None
        config = pipeline.InputConfig(batch_size=64)
        dataset = None
        for split in splits:
            split_dataset = pipeline.make_dataset(data_dir, split, config)
            dataset = split_dataset if dataset is None else dataset.concatenate(split_dataset)
        return SegmentPairs.read(dataset)

    def select(self, batch: dict) -> dict:
        """Parsed videos -> training pairs (runs inside tf.data)."""
        ids = tf.strings.reduce_join(batch[parser.VIDEO_ID], separator="\n")
        batch_hash = tf.strings.to_hash_bucket_fast(ids, 2**31 - 1)
        seed = tf.stack([tf.constant(self.seed, tf.int64), batch_hash])
        inputs, y = cross_modal_train_step_inputs(batch, self.model_config, seed)
        return {**inputs, PAIR_LABELS: y}

    @staticmethod
    def model_inputs(batch: dict) -> dict:
        return {k: batch[k] for k in _MODEL_INPUTS}

    def loss_and_metrics(self, batch: dict, outputs: dict):
        """Per-replica (loss, correct pairs, pairs).

        AVDLN: the contrastive loss scaled to the global mean over pairs; a pair counts as
        correct when `distance < margin / 2` agrees with its label. DCCA: the correlation loss
        of this replica's pairs divided by the replica count; no pair accuracy (correct = 0).
        """
        y = tf.cast(batch[PAIR_LABELS], tf.float32)
        count = tf.cast(tf.size(y), tf.float32)
        config = self.model_config
        if config.method == "avdln":
            distances = outputs["distances"][:, 0]
            total = contrastive_loss(distances, y, config.margin) * count
            predicted = tf.cast(distances < config.margin / 2, tf.float32)
            correct = tf.reduce_sum(tf.cast(tf.equal(predicted, y), tf.float32))
            return _global_mean(total, count), correct, count
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        loss = cross_modal_loss(config, outputs, y) / replicas
        return loss, tf.constant(0.0), count

    def validate(self, model, dataset, keep_attention: int = 0):
        """(metrics, None): A2V/V2A accuracy, their mean, pair loss and distance histograms."""
        del keep_attention  # cross-modal models have no attention maps
        if self.model_config.method == "dcca":
            fit_linear_cca(model, self._cca_dataset(dataset), self.model_config)
        metrics = evaluate_cross_modal(model, dataset)
        metrics["localization_accuracy"] = mean([metrics["a2v"], metrics["v2a"]])
        metrics["loss"], metrics["histograms"] = self._pair_statistics(model, dataset)
        return metrics, None

    def _cca_dataset(self, validation_dataset):
        if not self.data_dir:
            return validation_dataset
        split = self.train_splits(load_dataset_info(self.data_dir).splits)[0]
        return pipeline.make_dataset(self.data_dir, split, pipeline.InputConfig(batch_size=64))

    def _pair_statistics(self, model, dataset):
        """Mean loss over validation pairs and their distances by label (fixed seeds)."""
        losses, positive, negative = [], [], []
        for index, batch in enumerate(dataset):
            pairs = build_pairs(
                batch,
                self.model_config.negatives,
                [self.seed, index],
                self.model_config.shifted_fraction,
            )
            inputs = {"audio": pairs["audio"][:, None], "visual": pairs["visual"][:, None]}
            outputs = model(inputs, training=False)
            losses.append(float(cross_modal_loss(self.model_config, outputs, pairs["y"])))
            histograms = distance_histograms(outputs["distances"][:, 0], pairs["y"])
            positive.append(histograms["distance/positive"].numpy())
            negative.append(histograms["distance/negative"].numpy())
        loss = mean(losses)  # None for an empty validation split
        histograms = {
            "distance/positive": tf.concat(positive, 0).numpy() if positive else [],
            "distance/negative": tf.concat(negative, 0).numpy() if negative else [],
        }
        return loss, histograms

    def evaluate(self, model, data_dir: str, split: str, input_config, keep_attention: int = 0):
        """(A2V/V2A metrics of `split` or of its `_match` twin, None)."""
        del keep_attention
        return evaluate_cross_modal_split(model, data_dir, split, input_config), None


def evaluate_cross_modal_split(model, data_dir: str, split: str, input_config) -> dict:
    """`ave_eval` for cross-modal models: A2V/V2A accuracy on `split` (its `_match` twin if any).

    Returns `evaluate_cross_modal`'s dict plus `evaluated_split`, the split actually read.
    """
    evaluated = cross_modal_split(load_dataset_info(data_dir).splits, split)
    result = evaluate_cross_modal(model, pipeline.make_dataset(data_dir, evaluated, input_config))
    result["evaluated_split"] = evaluated
    return result
