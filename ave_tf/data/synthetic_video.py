"""One synthetic video: a plan of what is audible and visible per segment, then its features.

Planting the paper's definition: a segment holds an audio-visual event when the class object is
visible AND its sound is audible. Background stretches of partial-event videos are audible-only
(sound off screen), visible-only (silent object) or neither. Besides, a silent object of another
class may be in view (a distractor for global average pooling, not for audio-guided attention),
an off-screen sound of another class may be mixed in, and the audio track may be shifted by one
segment. The sounding object covers a few of the 49 cells and moves.

Features are built in a pre-activation space and passed through a ReLU, like the real VGGish
embeddings and VGG-19 pool5 maps (non-negative, sparse, long-tailed). Class evidence and clutter
live in the same subspace (mixtures of class prototypes), so clutter confuses; a video's sound
and look are mixtures of its class with a confuser chosen within the class family, per modality
(and now and then the same confuser for both, which fusion cannot resolve).
"""

import dataclasses

import numpy as np

from ave_tf.data import schema
from ave_tf.data.synthetic_config import SyntheticConfig
from ave_tf.data.synthetic_world import SyntheticWorld

# Segment states before the audio offset is applied.
NEITHER, AUDIBLE_ONLY, VISIBLE_ONLY, EVENT = 0, 1, 2, 3
STATE_NAMES = ("neither", "audible_only", "visible_only", "event")

_GRID = schema.VISUAL_HEIGHT
_CELL_Y, _CELL_X = np.meshgrid(np.arange(_GRID), np.arange(_GRID), indexing="ij")
_CELL_Y, _CELL_X = _CELL_Y.reshape(-1), _CELL_X.reshape(-1)
# Cells weighted below this are not part of an object.
_MIN_OBJECT_WEIGHT = 0.15
# Share of confusers drawn from any class instead of the class's own family.
_CROSS_FAMILY_CONFUSION = 0.15


@dataclasses.dataclass
class VideoPlan:
    """What happens in each segment of one video (all arrays have T entries).

    Attributes:
      labels: segment labels (the class inside the event span, background elsewhere).
      states: NEITHER / AUDIBLE_ONLY / VISIBLE_ONLY / EVENT per segment, on the visual timeline.
      sound_level: loudness of the class sound per segment, after the audio offset (0 = silent).
      object_visible: whether the class object is in view.
      audio_mix / visual_mix: [28] how the video's sound / object mixes class prototypes: its
        class and one confuser per modality (sometimes the same for both).
      audio_offset: -1, 0 or +1: the audio track is this many segments late.
      distractor_class: a silent object of this class is in view where `distractor_visible`
        (-1: none).
      interference_class / interference_level: an off-screen sound of another class (-1: none).
      scene_family: the family whose typical scene is the backdrop.
    """

    labels: np.ndarray
    states: np.ndarray
    sound_level: np.ndarray
    object_visible: np.ndarray
    audio_mix: np.ndarray
    visual_mix: np.ndarray
    audio_offset: int
    distractor_class: int
    distractor_visible: np.ndarray
    interference_class: int
    interference_level: float
    scene_family: int


def _confuser(rng: np.random.Generator, class_index: int, members: tuple) -> int:
    """Another class of the family (or, rarely, any other class)."""
    others = [c for c in members if c != class_index]
    if not others or rng.random() < _CROSS_FAMILY_CONFUSION:
        others = [c for c in range(schema.NUM_EVENT_CLASSES) if c != class_index]
    return int(others[rng.integers(len(others))])


def _confused_mix(
    rng: np.random.Generator, class_index: int, confuser: int, confusion: float
) -> np.ndarray:
    """[28] weights: own class plus `confuser`, whose weight is uniform in [0, w_max] with
    P(weight > 0.5) = `confusion` (the confuser then dominates)."""
    mix = np.zeros([schema.NUM_EVENT_CLASSES])
    w_max = 0.5 / max(1.0 - confusion, 1e-3)
    weight = min(rng.uniform(0.0, w_max), 0.95)
    mix[class_index] = 1.0 - weight
    mix[confuser] = weight
    return mix


def _background_states(
    rng: np.random.Generator, event: np.ndarray, config: SyntheticConfig
) -> np.ndarray:
    """Per segment state: EVENT inside the span; one background mode per background stretch."""
    states = np.where(event, EVENT, NEITHER)
    t = 0
    while t < len(event):
        if event[t]:
            t += 1
            continue
        end = t
        while end < len(event) and not event[end]:
            end += 1
        u = rng.random()
        if u < config.audible_only_prob:
            states[t:end] = AUDIBLE_ONLY
        elif u < config.audible_only_prob + config.visible_only_prob:
            states[t:end] = VISIBLE_ONLY
        t = end
    return states


def _shift(values: np.ndarray, offset: int) -> np.ndarray:
    """values[t - offset], repeating the edge value (the sound goes on beyond the clip)."""
    if offset == 0:
        return values.copy()
    index = np.clip(np.arange(len(values)) - offset, 0, len(values) - 1)
    return values[index]


def _random_span(rng: np.random.Generator, num_segments: int, min_length: int) -> np.ndarray:
    length = int(rng.integers(min(min_length, num_segments), num_segments + 1))
    start = int(rng.integers(0, num_segments - length + 1))
    mask = np.zeros([num_segments], dtype=bool)
    mask[start : start + length] = True
    return mask


def plan_video(
    world: SyntheticWorld,
    config: SyntheticConfig,
    rng: np.random.Generator,
    class_index: int,
    event_start: int,
    event_end: int,
    num_segments: int = schema.NUM_SEGMENTS,
) -> VideoPlan:
    """Plans an annotated video of `class_index` with its event in [event_start, event_end)."""
    traits = world.family_traits(class_index)
    event = np.zeros([num_segments], dtype=bool)
    event[event_start:event_end] = True
    labels = np.where(event, class_index, schema.BACKGROUND_CLASS).astype(np.int64)
    states = _background_states(rng, event, config)

    audio_offset = 0
    if rng.random() < config.audio_offset_prob:
        audio_offset = int(rng.choice([-1, 1]))
    audible = (states == EVENT) | (states == AUDIBLE_ONLY)
    loudness = traits.audio_gain * rng.uniform(0.7, 1.2) * rng.uniform(0.5, 1.2, num_segments)
    sound_level = _shift(audible * loudness, audio_offset)
    object_visible = (states == EVENT) | (states == VISIBLE_ONLY)

    members = traits.classes
    audio_confuser = _confuser(rng, class_index, members)
    visual_confuser = _confuser(rng, class_index, members)
    if rng.random() < config.shared_confusion_prob:
        visual_confuser = audio_confuser  # both modalities point to the same wrong class
    audio_mix = _confused_mix(rng, class_index, audio_confuser, traits.audio_confusion)
    visual_mix = _confused_mix(rng, class_index, visual_confuser, traits.visual_confusion)

    distractor_class, distractor_visible = _distractor(rng, config, class_index, num_segments)
    interference_class, interference_level = _interference(rng, config, class_index)
    return VideoPlan(
        labels=labels,
        states=states,
        sound_level=sound_level,
        object_visible=object_visible,
        audio_mix=audio_mix,
        visual_mix=visual_mix * traits.visual_gain,
        audio_offset=audio_offset,
        distractor_class=distractor_class,
        distractor_visible=distractor_visible,
        interference_class=interference_class,
        interference_level=interference_level,
        scene_family=int(world.family[class_index]),
    )


def plan_background_video(
    world: SyntheticWorld,
    config: SyntheticConfig,
    rng: np.random.Generator,
    num_segments: int = schema.NUM_SEGMENTS,
) -> VideoPlan:
    """Plans a background-only video (like the release's noisy videos): no segment holds an
    audio-visual event; a sound plays off screen, a silent object is in view, or both with
    unrelated classes, or neither."""
    sound_class, object_class = rng.choice(schema.NUM_EVENT_CLASSES, size=2, replace=False)
    mode = rng.integers(4)  # 0 neither, 1 audible only, 2 visible only, 3 unrelated pair
    audible = mode in (1, 3)
    visible = mode in (2, 3)
    span = _random_span(rng, num_segments, 3)
    sound_level = np.where(span & audible, rng.uniform(0.5, 1.2, num_segments), 0.0)
    object_visible = span & visible
    states = np.full([num_segments], NEITHER)
    states[span & audible] = AUDIBLE_ONLY
    states[span & visible & ~audible] = VISIBLE_ONLY
    audio_mix = np.eye(schema.NUM_EVENT_CLASSES)[sound_class]
    visual_mix = np.eye(schema.NUM_EVENT_CLASSES)[object_class]
    distractor_class, distractor_visible = _distractor(rng, config, object_class, num_segments)
    interference_class, interference_level = _interference(rng, config, sound_class)
    return VideoPlan(
        labels=np.full([num_segments], schema.BACKGROUND_CLASS, dtype=np.int64),
        states=states,
        sound_level=sound_level,
        object_visible=object_visible,
        audio_mix=audio_mix,
        visual_mix=visual_mix,
        audio_offset=0,
        distractor_class=distractor_class,
        distractor_visible=distractor_visible,
        interference_class=interference_class,
        interference_level=interference_level,
        scene_family=int(world.family[object_class]),
    )


def _distractor(rng, config, class_index, num_segments):
    if rng.random() >= config.distractor_prob:
        return -1, np.zeros([num_segments], dtype=bool)
    others = [c for c in range(schema.NUM_EVENT_CLASSES) if c != class_index]
    return int(others[rng.integers(len(others))]), _random_span(rng, num_segments, 3)


def _interference(rng, config, class_index):
    if rng.random() >= config.interference_prob:
        return -1, 0.0
    others = [c for c in range(schema.NUM_EVENT_CLASSES) if c != class_index]
    return int(others[rng.integers(len(others))]), float(rng.uniform(0.3, 0.7))


def object_track(rng: np.random.Generator, num_segments: int, radius_range: tuple) -> np.ndarray:
    """[T, 49] cell weights of an object that drifts across the 7x7 grid (a few cells)."""
    radius = rng.uniform(*radius_range)
    position = rng.uniform(0.5, _GRID - 1.5, size=2)
    velocity = rng.normal(0.0, 0.6, size=2)
    weights = np.empty([num_segments, _GRID * _GRID])
    for t in range(num_segments):
        d2 = (_CELL_Y - position[0]) ** 2 + (_CELL_X - position[1]) ** 2
        w = np.exp(-d2 / (2 * radius**2))
        weights[t] = np.where(w >= _MIN_OBJECT_WEIGHT, w, 0.0)
        velocity = 0.7 * velocity + rng.normal(0.0, 0.4, size=2)
        position = position + velocity
        # Bounce off the borders of the grid.
        for axis in range(2):
            if not 0.0 <= position[axis] <= _GRID - 1:
                velocity[axis] = -velocity[axis]
                position[axis] = np.clip(position[axis], 0.0, _GRID - 1)
    return weights


# Noise levels of the pre-activation space (the class signal has unit variance per dimension).
_AUDIO_VIDEO_NOISE = 0.2
_AUDIO_SEGMENT_NOISE = 0.25
_AUDIO_CLUTTER = 0.3
_AUDIO_POWER = 1.2
_VISUAL_CELL_NOISE = 0.3
_VISUAL_SEGMENT_NOISE = 0.3
_VISUAL_CLUTTER = 0.08
_OBJECT_GAIN = 2.5
_DISTRACTOR_GAIN = 2.0


def _clutter_mix(rng, shape, scale, active):
    """Random mixtures of `active` class prototypes: clutter that looks like classes."""
    rows = int(np.prod(shape))
    # The `active` smallest of 28 uniform keys pick distinct classes per row.
    keys = rng.random([rows, schema.NUM_EVENT_CLASSES])
    chosen = np.argpartition(keys, active - 1, axis=1)[:, :active]
    mix = np.zeros([rows, schema.NUM_EVENT_CLASSES], dtype=np.float32)
    np.put_along_axis(mix, chosen, rng.uniform(0.0, scale, size=[rows, active]), axis=1)
    return mix.reshape([*shape, schema.NUM_EVENT_CLASSES])


def render_audio(world: SyntheticWorld, plan: VideoPlan, rng: np.random.Generator) -> np.ndarray:
    """[T, 128] non-negative VGGish-like embeddings."""
    num_segments = len(plan.labels)
    dim = schema.AUDIO_DIM
    pre = (
        world.audio_bias
        + _AUDIO_VIDEO_NOISE * rng.standard_normal(dim, dtype=np.float32)
        + _AUDIO_SEGMENT_NOISE * rng.standard_normal([num_segments, dim], dtype=np.float32)
    )
    clutter = _clutter_mix(rng, [1], _AUDIO_CLUTTER, 2) + _clutter_mix(
        rng, [num_segments], _AUDIO_CLUTTER * 0.5, 1
    )
    mix = clutter + plan.sound_level[:, None] * plan.audio_mix[None, :]
    if plan.interference_class >= 0:
        mix[:, plan.interference_class] += plan.interference_level
    pre = pre + mix.astype(np.float32) @ world.audio_prototypes
    # ReLU, then a mild power for the long tail of real embeddings (99th percentile 6x median).
    return (world.audio_scale * np.maximum(pre, 0.0) ** _AUDIO_POWER).astype(np.float32)


def render_visual(
    world: SyntheticWorld,
    config: SyntheticConfig,
    plan: VideoPlan,
    rng: np.random.Generator,
) -> np.ndarray:
    """[T, 7, 7, 512] non-negative pool5-like maps (mostly 0-20, long tail)."""
    num_segments = len(plan.labels)
    cells = _GRID * _GRID
    channels = schema.VISUAL_CHANNELS
    scene = world.visual_bias + config.scene_context * world.scene_prototypes[plan.scene_family]
    scene_mix = _clutter_mix(rng, [1], _VISUAL_CLUTTER, 3) + _clutter_mix(
        rng, [cells], _VISUAL_CLUTTER, 1
    )  # [49, 28]: the same scene in every segment, objects of other kinds here and there
    static = (
        scene
        + _VISUAL_CELL_NOISE * rng.standard_normal([cells, channels], dtype=np.float32)
        + scene_mix @ world.visual_prototypes
    )
    object_weights = object_track(rng, num_segments, config.object_radius)
    object_weights *= plan.object_visible[:, None]
    # [T, 49, 28]: which class prototypes each cell shows.
    mix = (_OBJECT_GAIN * object_weights)[:, :, None] * plan.visual_mix[None, None, :]
    if plan.distractor_class >= 0:
        distractor = object_track(rng, num_segments, config.object_radius)
        distractor *= plan.distractor_visible[:, None]
        mix[:, :, plan.distractor_class] += _DISTRACTOR_GAIN * distractor
    pre = rng.standard_normal([num_segments, cells, channels], dtype=np.float32)
    pre *= _VISUAL_SEGMENT_NOISE
    pre += static[None]
    pre += mix.astype(np.float32) @ world.visual_prototypes
    # ReLU, then a power for the long tail of real pool5 activations.
    np.maximum(pre, 0.0, out=pre)
    pre *= np.sqrt(pre)
    pre *= world.visual_scale
    return pre.reshape(num_segments, _GRID, _GRID, channels)
