"""CACE-Net (Brain-Cog-Lab, ACM MM 2024) recipe `cace_net` and its loss.

Their reported AVE accuracy: 80.8 (supervised). The model is `ave_tf/models/zoo/cace_net.py`;
this module follows their training code (CACE/supv_main.py, configs/main.json,
configs/default_config.yaml and the commands of run_supp.sh / run_aba.sh):

- Loss (`cace_net_supervised`): CMBS's four terms with weight 1 each (BCE-with-logits of the
  per-segment event score and of the joint background gate against "segment is an event",
  cross-entropy of the video class scores and of the class activation scores against the
  video's event class; see `ave_tf/experiments/zoo/cmbs.py`), plus `CONTRASTIVE_WEIGHT` (their
  `--contras_coeff`; 1, the default of their options and of the first run in run_supp.sh, which
  sweeps 1 to 5) x their supervised contrastive term: per video, the L2-normalised
  projections of the fused segments (`contrastive_query`, q) and of the fused segments plus
  noise (`contrastive_key`, k) are stacked into 2T features, similarities divided by a
  temperature of 0.01; for every feature the positives are the other view of the same
  segment and, when it is an event segment, every other event segment in either view; the
  term is `-(log sum_pos exp - log sum_{all but itself} exp - log(1 + l (2 P - 2)))` averaged
  over the 2T features (P: the video's event segments, l: 1 for an event segment).
- Per-row normalisation: every term is averaged over each video's real segments (padded
  segments are neither anchors nor candidates of the contrastive term), then over videos,
  which equals their means for the AVE's fixed T = 10.
- Adam without weight decay, epsilon 1e-8, learning rate 7e-4, batch 64, 200 epochs, gradient
  global norm clipped to 0.5 (`trainer.optimizer.global_clipnorm`), MultiStepLR x0.5 at epochs
  10, 20, 30: the values of their run scripts (their configs' defaults: 1e-3, 100 epochs, 0.8);
  the update is torch.optim.Adam's (`trainer.optimizer.pytorch`, as CMBS's recipe).
- The contrastive term and the contrastive enhancement of the event head start at epoch
  n_epoch / 8 (their `contrastive_switch`: epoch 25 of 200; in a 5-epoch run the second
  epoch): the model's `contrastive_switch` (`EpochSwitch`), which the trainer sets before
  every epoch, gates both.
- Their evaluation rule is folded into the model's `logits` (as CMBS's).

Where the code differs from the paper, the code is followed: the co-guided attention keeps
CMBS's cell self-attention and visual-only gate, adds a second cell self-attention that shares
the first one's LayerNorm, and re-weights the audio as `a + psai sigmoid(g) a`
(`CoGuidedSpatialChannelAttention`); the cross-modal attention's feed-forward width is 512.

Where this framework differs from their scripts (by design or for lack of a hook):
- The checkpoint is chosen on the validation split (segment accuracy); their script evaluates
  on the *test* split after every epoch and keeps the best test accuracy.
- Training runs in float32 (their script converts the model and features to float64), except
  the contrastive term: float64 as theirs, with log-sum-exp (theirs exponentiates
  similarities / 0.01, up to e^100, which float64 holds).
- Batches are shuffled by the input pipeline with a set seed (theirs: seed 3917); the layers
  start from PyTorch's default distributions (the model's `torch_init`), not from the same
  numbers; with several replicas Keras clips each replica's gradients before the all-reduce.
"""

import tensorflow as tf

from ave_tf.data import parser, schema
from ave_tf.experiments.registry import register_experiment
from ave_tf.experiments.zoo.cmbs import _per_video_mean, _trainer, cmbs_supervised_loss
from ave_tf.models.zoo.cace_net import CACENetConfig
from ave_tf.training.experiment_config import ExperimentConfig, TaskConfig
from ave_tf.training.losses import register_loss

CONTRASTIVE_WEIGHT = 1.0
TEMPERATURE = 0.01
_NEGATIVE = -1e9


def supervised_contrastive_loss(query, key, is_event, valid):
    """Their contrastive term per video [B] (mean over the 2T features of real segments).

    Computed in float64, as their script computes it: at a temperature of 0.01 the logits
    reach 100 and float32 rounding of their log-sum-exps, amplified by 1/0.01 in the gradient,
    moved training off theirs (`benchmarks/zoo_training_steps.py --model=cace_net`: 0.58 from
    their weights after 20 steps in float32, 0.40 in float64; their own float32 run: 0.42).

    Args:
        query, key: `[B, T, C]` L2-normalised features of the two views.
        is_event: `[B, T]` 1.0 for event segments.
        valid: `[B, T]` 1.0 for real segments.

    Returns:
        `[B]` float32.
    """
    query, key = tf.cast(query, tf.float64), tf.cast(key, tf.float64)
    is_event, valid = tf.cast(is_event, tf.float64), tf.cast(valid, tf.float64)
    steps = tf.shape(query)[1]
    features = tf.concat([query, key], axis=1)
    logits = tf.matmul(features, features, transpose_b=True) / TEMPERATURE
    eye = tf.eye(steps, dtype=tf.float64)
    both = is_event[:, :, None] * is_event[:, None, :]
    same_view = both * (1.0 - eye)
    other_view = tf.minimum(both + eye, 1.0)
    positives = tf.concat(
        [tf.concat([same_view, other_view], 2), tf.concat([other_view, same_view], 2)], 1
    )
    valid2 = tf.concat([valid, valid], axis=1)
    pairs = valid2[:, :, None] * valid2[:, None, :]
    candidates = (1.0 - tf.eye(2 * steps, dtype=tf.float64)) * pairs
    positives *= pairs

    def log_sum(mask):
        return tf.reduce_logsumexp(tf.where(mask > 0, logits, _NEGATIVE), axis=2)

    count = tf.reduce_sum(is_event * valid, axis=1, keepdims=True)
    index = tf.math.log(tf.concat([is_event * (2.0 * count - 2.0)] * 2, axis=1) + 1.0)
    per_feature = -(log_sum(positives) - log_sum(candidates) - index)
    per_feature = tf.where(valid2 > 0, per_feature, tf.zeros_like(per_feature))
    return tf.cast(_per_video_mean(per_feature, valid2), tf.float32)


@register_loss("cace_net_supervised")
def cace_net_supervised_loss(task: str, batch: dict, outputs: dict):
    """Their supv_main.py loss, per video: CMBS's four terms + CONTRASTIVE_WEIGHT x their
    supervised contrastive term once the model's contrastive switch is on. Rows: videos with a
    labelled segment."""
    total, rows = cmbs_supervised_loss(task, batch, outputs)
    labels = batch[parser.LABELS]
    valid = tf.cast(labels >= 0, tf.float32)
    is_event = tf.cast(tf.logical_and(labels >= 0, labels < schema.BACKGROUND_CLASS), tf.float32)
    contrastive = supervised_contrastive_loss(
        outputs["contrastive_query"], outputs["contrastive_key"], is_event, valid
    )
    has_rows = tf.cast(tf.reduce_sum(valid, axis=1) > 0, tf.float32)
    weight = CONTRASTIVE_WEIGHT * outputs["contrastive_switch"]  # 0 in their first n_epoch / 8
    return total + tf.reduce_sum(weight * contrastive * has_rows), rows


@register_experiment("cace_net", "zoo", "CACE-Net")
def cace_net() -> ExperimentConfig:
    """CACE-Net supervised (run_supp.sh): lr 7e-4, clipping 0.5, x0.5 at epochs 10/20/30,
    Co-Guide with psai 0.3, contrastive enhancement with Lambda 0.6 and coefficient 1."""
    return ExperimentConfig(
        task=TaskConfig(name="supervised", loss="cace_net_supervised"),
        model=CACENetConfig(),
        trainer=_trainer(7e-4, [10, 20, 30]),
    )
