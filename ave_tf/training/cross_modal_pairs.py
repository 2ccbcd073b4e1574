"""Training pairs for the cross-modality models, built from a parsed batch of videos.

Input: a dict from `ave_tf.data.parser.parse_batch` (`audio` [B, T, 128], `visual`
[B, T, 7, 7, 512], `labels` [B, T] with -1 for padded/unlabeled segments, `mask` [B, T]).
Output of `build_pairs`: N pairs `audio` [N, 128], `visual` [N, 7, 7, 512], `y` [N] float32
(1 = synchronized, 0 = not) and `kind` [N] int32 (index into `PAIR_KINDS`).

Pairs (paper Sec. 5: "y_i = 1 means that V_i and A_i are synchronized"):
- positive: audio and visual of the same event segment (label in [0, 28)).
- background: audio and visual of the same background segment (label 28). They are
  synchronized in time but carry no audio-visual event; the authors trained with these as the
  only negatives (`labels_closs.h5`, 0 = background).
- shifted: the audio of an event segment t with the visual of another real segment t' != t of
  the same video (t' uniform), the kind of mismatch the sliding-window search must reject.
- cross_video: the audio of an event segment with the visual of a uniformly chosen real segment
  of another video of the batch (which may share the class).

Strategies (`CrossModalConfig.negatives`): "background", "shifted" and "cross_video" use only
that kind of negative (one per background segment, resp. one per positive); "mixed" (default)
uses every background pair plus one mismatched negative per positive, shifted with probability
`shifted_fraction` (0.5) and cross-video otherwise (falling back to the other kind when a video
has a single segment or the batch a single video). With AVE's statistics (about 18% background
segments) "mixed" gives roughly 1.2 negatives per positive.

Sampling uses stateless random ops seeded by `seed`, so the same batch and seed always give
the same pairs, in eager mode, inside `tf.function` and inside `tf.data`.

`cross_modal_train_step_inputs(batch, config, seed) -> (inputs, y)` packs the pairs as model
inputs: `{"audio": [N, 1, 128], "visual": [N, 1, 7, 7, 512]}`, i.e. N "videos" of one segment
each, and `y` [N]; the model's `distances` output is then [N, 1].
"""

import tensorflow as tf

from ave_tf.data import parser, schema

PAIR_KINDS = ("positive", "background", "shifted", "cross_video")
POSITIVE, BACKGROUND, SHIFTED, CROSS_VIDEO = range(len(PAIR_KINDS))
_STRATEGIES = ("mixed", "background", "shifted", "cross_video")


def _seed_pair(seed) -> tf.Tensor:
    """An int or a [2] tensor -> the [2] int32 seed that stateless random ops take."""
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.zeros_like(seed)])
    return tf.cast(seed, tf.int32)


def _uniform_index(seed, upper: tf.Tensor) -> tf.Tensor:
    """One integer uniformly in [0, upper) per entry of `upper` (int32 [P]; 0 where upper < 1)."""
    unit = tf.random.stateless_uniform(tf.shape(upper), seed=seed)
    index = tf.cast(tf.floor(unit * tf.cast(upper, tf.float32)), tf.int32)
    return tf.clip_by_value(index, 0, tf.maximum(upper - 1, 0))


def build_pairs(
    batch: dict, negatives: str = "mixed", seed=0, shifted_fraction: float = 0.5
) -> dict[str, tf.Tensor]:
    """Builds positive and negative segment pairs from a parsed batch.

    Args:
      batch: a `parse_batch` dict (needs audio, visual, labels, mask).
      negatives: "mixed", "background", "shifted" or "cross_video" (see the module docstring).
      seed: an int or a [2] int tensor (e.g. derived from the training step).
      shifted_fraction: for "mixed", the probability of a shifted (vs cross-video) negative.

    Returns:
      Dict with `audio` [N, 128], `visual` [N, 7, 7, 512], `y` [N] float32, `kind` [N] int32;
      positives come first, then negatives grouped by kind.
    """
    if negatives not in _STRATEGIES:
        raise ValueError(f"negatives must be one of {_STRATEGIES}, got {negatives!r}")
    audio, visual = batch[parser.AUDIO], batch[parser.VISUAL]
    labels = tf.cast(batch[parser.LABELS], tf.int32)
    real = batch[parser.MASK] > 0
    # The parser's mask is a prefix: the real segments of video b are 0 .. length_b - 1.
    lengths = tf.reduce_sum(tf.cast(real, tf.int32), axis=1)
    num_videos = tf.shape(labels)[0]
    labelled = real & (labels >= 0)
    event = labelled & (labels != schema.BACKGROUND_CLASS)
    background = labelled & (labels == schema.BACKGROUND_CLASS)

    positive_index = tf.cast(tf.where(event), tf.int32)  # [P, 2] (video, time)
    video, time = positive_index[:, 0], positive_index[:, 1]
    seeds = tf.random.experimental.stateless_split(_seed_pair(seed), num=5)

    # Shifted partner: t' uniform over the other real segments of the same video.
    offset = _uniform_index(seeds[0], tf.gather(lengths, video) - 1)
    shifted_time = offset + tf.cast(offset >= time, tf.int32)
    can_shift = tf.gather(lengths, video) >= 2
    # Cross-video partner: another video of the batch, then a uniform real segment of it.
    other_video = video + 1 + _uniform_index(seeds[1], tf.fill(tf.shape(video), num_videos - 1))
    other_video = other_video % tf.maximum(num_videos, 1)
    other_time = _uniform_index(seeds[2], tf.gather(lengths, other_video))
    can_cross = tf.fill(tf.shape(video), num_videos >= 2)

    if negatives == "shifted":
        use_shift, use_cross = can_shift, tf.zeros_like(can_shift)
    elif negatives == "cross_video":
        use_shift, use_cross = tf.zeros_like(can_shift), can_cross
    elif negatives == "mixed":
        coin = tf.random.stateless_uniform(tf.shape(video), seed=seeds[3]) < shifted_fraction
        use_shift = can_shift & (coin | ~can_cross)
        use_cross = can_cross & ~use_shift
    else:
        use_shift = use_cross = tf.zeros_like(can_shift)
    use_background = negatives in ("mixed", "background")

    def pairs_of(mask, audio_video, audio_time, visual_video, visual_time, kind):
        keep = tf.where(mask)[:, 0]
        audio_at = tf.stack([tf.gather(audio_video, keep), tf.gather(audio_time, keep)], axis=1)
        visual_at = tf.stack([tf.gather(visual_video, keep), tf.gather(visual_time, keep)], axis=1)
        return audio_at, visual_at, tf.fill(tf.shape(keep), kind)

    every = tf.ones_like(video, dtype=tf.bool)
    parts = [pairs_of(every, video, time, video, time, POSITIVE)]
    if use_background:
        background_index = tf.cast(tf.where(background), tf.int32)
        b_video, b_time = background_index[:, 0], background_index[:, 1]
        parts.append(
            pairs_of(tf.ones_like(b_video, tf.bool), b_video, b_time, b_video, b_time, BACKGROUND)
        )
    parts.append(pairs_of(use_shift, video, time, video, shifted_time, SHIFTED))
    parts.append(pairs_of(use_cross, video, time, other_video, other_time, CROSS_VIDEO))

    audio_at = tf.concat([p[0] for p in parts], axis=0)
    visual_at = tf.concat([p[1] for p in parts], axis=0)
    kind = tf.concat([p[2] for p in parts], axis=0)
    return {
        "audio": tf.gather_nd(audio, audio_at),
        "visual": tf.gather_nd(visual, visual_at),
        "y": tf.cast(tf.equal(kind, POSITIVE), tf.float32),
        "kind": kind,
    }


def cross_modal_train_step_inputs(batch: dict, config, seed=0):
    """Model inputs and pair labels for one training step of a cross-modal model.

    Args:
      batch: a `parse_batch` dict.
      config: a `CrossModalConfig` (uses `negatives` and `shifted_fraction`).
      seed: an int or a [2] int tensor; vary it per step for fresh negatives.

    Returns:
      `(inputs, y)`: `inputs = {"audio": [N, 1, 128], "visual": [N, 1, 7, 7, 512]}` (each pair
      is a one-segment video) and `y` [N] float32 (1 = synchronized positive pair).
    """
    pairs = build_pairs(batch, config.negatives, seed, config.shifted_fraction)
    inputs = {"audio": pairs["audio"][:, None], "visual": pairs["visual"][:, None]}
    return inputs, pairs["y"]
