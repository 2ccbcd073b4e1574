"""The class structure of the synthetic dataset: families, per-modality traits and prototypes.

The 28 AVE classes are grouped into families. Within a family, classes share part of their
audio and visual prototypes, and each family has its own per-modality confusion rate and signal
gain, so audio and visual confusions differ by family as in the paper's per-class results
(supplementary Table 1): vehicles look distinct but sound alike (V beats A), speech, animals and
instruments sound distinct but look alike (A beats V), household sounds are easy in both.
"""

import dataclasses
from statistics import NormalDist

import numpy as np

from ave_tf.data import schema


@dataclasses.dataclass(frozen=True)
class Family:
    """A group of classes confused with each other by one modality or the other.

    Attributes:
      name: family name.
      classes: class indices (into `ave_metadata.class_names()`).
      audio_confusion / visual_confusion: chance that a video's sound / look resembles another
        class of the family more than its own.
      audio_gain / visual_gain: strength of the class signal relative to clutter.
    """

    name: str
    classes: tuple
    audio_confusion: float
    visual_confusion: float
    audio_gain: float
    visual_gain: float


FAMILIES = (
    # Man, woman, baby: voices differ, faces look alike at 7x7.
    Family("human", (1, 5, 19), 0.22, 0.60, 1.1, 0.7),
    # Dog, goat, cat, horse, rodents: small furry things, often far away or quiet.
    Family("animals", (2, 18, 22, 23, 25), 0.32, 0.55, 0.8, 0.7),
    # Airplane, race car, helicopter, truck, motorcycle, train, bus: engine noise, distinct shapes.
    Family("vehicles", (3, 4, 6, 11, 13, 15, 20), 0.47, 0.25, 0.6, 1.1),
    # Violin, ukulele, guitar, banjo, mandolin: distinct timbre, similar-looking instruments.
    Family("strings", (7, 9, 14, 17, 27), 0.10, 0.60, 1.1, 0.8),
    # Flute, shofar, accordion.
    Family("winds", (8, 12, 26), 0.12, 0.50, 1.1, 0.8),
    # Church bell, frying, clock, chainsaw, toilet flush: distinctive in both modalities.
    Family("household", (0, 10, 16, 21, 24), 0.06, 0.22, 1.0, 1.0),
)

# Share of a prototype common to the family (the rest is class specific).
_AUDIO_FAMILY_SHARE = 0.5
_VISUAL_FAMILY_SHARE = 0.5
_AUDIO_LATENT_DIM = schema.AUDIO_DIM
_VISUAL_LATENT_DIM = schema.VISUAL_CHANNELS


def family_of_class() -> np.ndarray:
    """[28] family index of every event class."""
    out = np.full([schema.NUM_EVENT_CLASSES], -1, dtype=np.int64)
    for f, family in enumerate(FAMILIES):
        out[list(family.classes)] = f
    assert (out >= 0).all(), "every event class belongs to one family"
    return out


def _family_prototypes(rng: np.random.Generator, dim: int, share: float) -> np.ndarray:
    """[28, dim] unit-variance prototypes, correlated within families by `share`."""
    family = family_of_class()
    common = rng.standard_normal([len(FAMILIES), dim])
    specific = rng.standard_normal([schema.NUM_EVENT_CLASSES, dim])
    return np.sqrt(share) * common[family] + np.sqrt(1.0 - share) * specific


# Zero fraction per VGGish dimension, quantiles measured on the real audio_feature_noisy.h5:
# some dimensions are almost always zero, some rarely.
_AUDIO_ZERO_FRACTION_QUANTILES = (
    0.09, 0.17, 0.26, 0.35, 0.41, 0.48, 0.59, 0.66, 0.70, 0.77, 0.84, 0.89, 0.91, 0.95, 0.98, 0.99
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SyntheticWorld:
    """Everything shared by all videos of one seed.

    Attributes:
      family: [28] family index per event class.
      audio_prototypes: [28, 128] pre-activation direction of each class sound.
      visual_prototypes: [28, 512] pre-activation direction of each class object.
      audio_bias / audio_scale: [128] per-dimension ReLU threshold and output scale (VGGish-like
        sparsity: ~65% zeros on average, very different per dimension).
      visual_bias / visual_scale: [512] the same for the pool5 channels.
      scene_prototypes: [num_families, 512] typical scene of each family (indoor, road, stage).
    """

    family: np.ndarray
    audio_prototypes: np.ndarray
    visual_prototypes: np.ndarray
    audio_bias: np.ndarray
    audio_scale: np.ndarray
    visual_bias: np.ndarray
    visual_scale: np.ndarray
    scene_prototypes: np.ndarray

    def family_traits(self, class_index: int) -> Family:
        return FAMILIES[int(self.family[class_index])]

    def family_members(self, class_index: int) -> tuple:
        return self.family_traits(class_index).classes


def _audio_thresholds(rng: np.random.Generator, spread: float) -> np.ndarray:
    """[128] biases such that dimension d is zero in about the measured share of segments."""
    quantiles = np.asarray(_AUDIO_ZERO_FRACTION_QUANTILES)
    zero_fraction = np.interp(
        np.linspace(0, 1, schema.AUDIO_DIM), np.linspace(0, 1, len(quantiles)), quantiles
    )
    zero_fraction = rng.permutation(zero_fraction)
    # Pre-activations are roughly N(bias, spread^2): P(x <= 0) = Phi(-bias / spread).
    return -spread * np.array([NormalDist().inv_cdf(p) for p in zero_fraction])


# Typical spread of the audio pre-activations (sets the ReLU thresholds) and the mean visual
# pre-activation threshold.
_AUDIO_SPREAD = 0.85
_VISUAL_BIAS = -0.5


def build_world(seed: int) -> SyntheticWorld:
    """The prototypes and thresholds of one seed (independent of which videos are generated)."""
    rng = np.random.default_rng([seed, 0x574F524C44])  # "WORLD"
    audio_prototypes = _family_prototypes(rng, _AUDIO_LATENT_DIM, _AUDIO_FAMILY_SHARE)
    visual_prototypes = _family_prototypes(rng, _VISUAL_LATENT_DIM, _VISUAL_FAMILY_SHARE)
    audio_bias = _audio_thresholds(rng, _AUDIO_SPREAD)
    # Output scales vary per dimension like real embeddings (median non-zero value ~0.25).
    audio_scale = 0.41 * np.exp(0.3 * rng.standard_normal(schema.AUDIO_DIM))
    visual_bias = _VISUAL_BIAS + 0.5 * rng.standard_normal(schema.VISUAL_CHANNELS)
    visual_scale = 2.0 * np.exp(0.4 * rng.standard_normal(schema.VISUAL_CHANNELS))
    scene_prototypes = rng.standard_normal([len(FAMILIES), schema.VISUAL_CHANNELS])
    return SyntheticWorld(
        family=family_of_class(),
        audio_prototypes=audio_prototypes.astype(np.float32),
        visual_prototypes=visual_prototypes.astype(np.float32),
        audio_bias=audio_bias.astype(np.float32),
        audio_scale=audio_scale.astype(np.float32),
        visual_bias=visual_bias.astype(np.float32),
        visual_scale=visual_scale.astype(np.float32),
        scene_prototypes=scene_prototypes.astype(np.float32),
    )
