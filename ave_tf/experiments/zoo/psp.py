"""PSP (Zhou et al., CVPR 2021) recipes `psp` and `psp_weak`, and PSP's losses.

What the authors' code (github jasongief/PSP_CVPR_2021) does, and where it differs from the
paper (their code is followed unless said otherwise):
- Network: see `ave_tf.models.zoo.psp`. The audio-guided attention is Tian et al.'s as the
  AVE authors coded it (the audio's 49 projections added along the cells), guided in the
  supervised model by the audio after two linear layers (128 -> 256 -> 128), in the weak model
  by the raw audio. The paper's propagation equations do not have the supervised model's ReLU
  output projections (`v_fc`, `a_fc`) nor its second normalization of the pruned relevance;
  the weak model has neither (followed: `PositiveSamplePropagation(output_units, renormalize)`).
- The weak model's weighting branch (`sigmoid(relu(W3 score))` scaling the segment scores before
  the time average) is in their code only.
- Thresholds: 0.099 supervised, 0.095 weak (their README's commands, their defaults).
- Supervised loss (`psp_supervised`): segment cross-entropy + 100 x AVPS loss (their --LAMBDA
  default): the MSE between the ReLU'd cosine similarities of the propagated features, divided
  by their sum over the video, and a target that spreads 1 evenly over the segments of the
  video's event (eqs. 8-9). Their loader takes the event class as the smallest class index
  present (so a background-only video's target covers all its segments); so does this loss.
  Their loader never clears its target buffer between batches, so the non-event segments of a
  video keep the values some earlier video had at those rows; here they are 0 (the paper).
- Weak loss (`psp_weak`): binary cross-entropy between the softmax of the time-averaged weighted
  scores and each class's share of the video's segments (their prob_label.h5, which the authors
  describe as the proportion of event and background segments): their "weak" training reads
  how many segments hold the event, more than a video-level tag. `psp_weak_video_label` trains
  on the one-hot video label instead (strictly weak; not theirs). Videos without segment labels
  use the one-hot video label; the `train_noisy` background videos are background throughout.
- Optimizer: Adam 1e-3 (PyTorch's epsilon 1e-8), no weight decay, no gradient clipping, batch
  128, 300 epochs. Their learning rate is multiplied by 0.8 after epochs 60 and 120 (supervised;
  `(epoch+1) % 60 == 0 and epoch < 170`) or 80 and 160 (weak; `% 80`, `< 200`) and then stays:
  the `multistep` schedule with those milestones. The update is torch.optim.Adam's
  (`trainer.optimizer.pytorch`: its epsilon placement, nn.LSTM's two biases stepping alike).
- Whole batches only (`data.drop_remainder`): their loops step over len // 128 batches of a
  list reshuffled each epoch (3339 // 128 = 26 on the AVE), so the last, smaller one is never
  trained on; the videos it would hold change every epoch.
- Dropout 0.1 in the propagation module only.

Where this framework differs from their scripts (by design):
- The checkpoint is chosen on validation (segment accuracy after epochs 1, 6, 11, ... and the
  last, supervised; the video-level validation loss, weak). Their scripts save the model with
  the best TEST accuracy and report that; their weak validation reads segment labels.
- Seeds and shuffling are the trainer's. The layers start as theirs do: Xavier-uniform
  where their code sets it, PyTorch's defaults elsewhere (`ave_tf.models.torch_init`: the
  audio and visual embeddings, the attention's projection biases, the LSTMs); from Keras'
  defaults the supervised model trained a full epoch slower on a full-size release.
"""

import tensorflow as tf

from ave_tf.data import parser, schema
from ave_tf.experiments.registry import register_experiment
from ave_tf.models.zoo.psp import PSPConfig, psp_weak_config
from ave_tf.training.experiment_config import (
    DataConfig,
    ExperimentConfig,
    OptimizerConfig,
    ScheduleConfig,
    TaskConfig,
    TrainerConfig,
)
from ave_tf.training.losses import register_loss, segment_cross_entropy

AVPS_WEIGHT = 100.0  # fully_supervised_main.py --LAMBDA
_NORM_EPSILON = 1e-8  # measure.AVPSLoss
_LOG_FLOOR = -100.0  # PyTorch's BCELoss clamps log(p) at -100


def avps_targets(labels: tf.Tensor) -> tf.Tensor:
    """[B, T] float32: 1/n on the n segments of the video's event class, 0 elsewhere.

    The event class is the smallest class index among the labelled segments (the authors'
    `get_segment_wise_relation`): the event if the video has one, else background.
    """
    valid = labels >= 0
    event = tf.reduce_min(tf.where(valid, labels, schema.NUM_CLASSES), axis=1, keepdims=True)
    on_event = tf.cast(tf.logical_and(valid, tf.equal(labels, event)), tf.float32)
    return on_event / tf.maximum(tf.reduce_sum(on_event, axis=1, keepdims=True), 1.0)


def avps_squared_errors(similarity: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """[B, T] the AVPS loss terms (eqs. 8-9 as measure.AVPSLoss): ReLU'd similarities divided by
    their sum over the video's labelled segments, minus `avps_targets`, squared; 0 elsewhere."""
    valid = tf.cast(labels >= 0, tf.float32)
    positive = tf.nn.relu(tf.cast(similarity, tf.float32)) * valid
    normalized = positive / (tf.reduce_sum(positive, axis=1, keepdims=True) + _NORM_EPSILON)
    return tf.square(normalized - avps_targets(labels)) * valid


@register_loss("psp_supervised")
def psp_supervised_loss(task: str, batch: dict, outputs: dict):
    """Per segment: cross-entropy + 100 x the AVPS squared error (their loss when unpadded:
    both of their terms are means over the same B x T segments)."""
    labels = batch[parser.LABELS]
    total, count = segment_cross_entropy(labels, outputs["logits"])
    errors = avps_squared_errors(outputs["av_similarity"], labels)
    return total + AVPS_WEIGHT * tf.reduce_sum(errors), count


def _video_bce(targets: tf.Tensor, video_logits: tf.Tensor, has_target: tf.Tensor):
    """Sum over videos of BCELoss(softmax(video_logits), targets) (mean over classes), count."""
    logits = tf.cast(video_logits, tf.float32)
    log_p = tf.maximum(tf.nn.log_softmax(logits, axis=-1), _LOG_FLOOR)
    log_not_p = tf.maximum(tf.math.log1p(-tf.nn.softmax(logits, axis=-1)), _LOG_FLOOR)
    per_video = -tf.reduce_mean(targets * log_p + (1.0 - targets) * log_not_p, axis=-1)
    has_target = tf.cast(has_target, tf.float32)
    return tf.reduce_sum(per_video * has_target), tf.reduce_sum(has_target)


def segment_shares(labels: tf.Tensor, video_label: tf.Tensor, num_classes: int) -> tf.Tensor:
    """[B, classes]: each class's share of the video's labelled segments (their prob_label.h5);
    the one-hot video label for videos without segment labels."""
    valid = tf.cast(labels >= 0, tf.float32)
    counts = tf.reduce_sum(tf.one_hot(tf.maximum(labels, 0), num_classes) * valid[..., None], 1)
    segments = tf.reduce_sum(valid, axis=1, keepdims=True)
    tag = tf.one_hot(tf.maximum(video_label, 0), num_classes)
    return tf.where(segments > 0, counts / tf.maximum(segments, 1.0), tag)


@register_loss("psp_weak")
def psp_weak_loss(task: str, batch: dict, outputs: dict):
    """Their weak loss: BCE of the video probabilities against the classes' segment shares."""
    video_logits = outputs["video_logits"]
    labels, video_label = batch[parser.LABELS], batch[parser.VIDEO_LABEL]
    targets = segment_shares(labels, video_label, video_logits.shape[-1])
    has_target = tf.logical_or(tf.reduce_any(labels >= 0, axis=1), video_label >= 0)
    return _video_bce(targets, video_logits, has_target)


@register_loss("psp_weak_video_label")
def psp_weak_video_label_loss(task: str, batch: dict, outputs: dict):
    """Their weak loss on the one-hot video label (video-level supervision only)."""
    video_logits = outputs["video_logits"]
    video_label = batch[parser.VIDEO_LABEL]
    targets = tf.one_hot(tf.maximum(video_label, 0), video_logits.shape[-1])
    return _video_bce(targets, video_logits, video_label >= 0)


def _trainer(milestones: list[int]) -> TrainerConfig:
    return TrainerConfig(
        epochs=300,
        batch_size=128,
        optimizer=OptimizerConfig(learning_rate=1e-3, epsilon=1e-8, pytorch=True),
        schedule=ScheduleConfig(name="multistep", decay_rate=0.8, milestones=milestones),
        validate_every=5,
    )


@register_experiment("psp", "zoo", "PSP")
def psp() -> ExperimentConfig:
    """Supervised PSP as fully_supervised_main.py (see the module docstring for differences):
    threshold 0.099, cross-entropy + 100 x AVPS, Adam 1e-3, batch 128, 300 epochs, x0.8 after
    epochs 60 and 120, checkpoint chosen on validation accuracy."""
    return ExperimentConfig(
        task=TaskConfig(name="supervised", loss="psp_supervised"),
        model=PSPConfig(),
        data=DataConfig(drop_remainder=True),  # their len // 128 batches per epoch
        trainer=_trainer(milestones=[60, 120]),
    )


@register_experiment("psp_weak", "zoo", "PSP (weak)")
def psp_weak() -> ExperimentConfig:
    """Weakly supervised PSP as weakly_supervised_main.py: threshold 0.095, BCE on segment
    shares, with the noisy background videos, x0.8 after epochs 80 and 160, checkpoint chosen on
    the video-level validation loss."""
    return ExperimentConfig(
        task=TaskConfig(name="weak", loss="psp_weak", use_noisy=True),
        model=psp_weak_config(),
        data=DataConfig(drop_remainder=True),  # their len // 128 batches per epoch
        trainer=_trainer(milestones=[80, 160]),
    )
