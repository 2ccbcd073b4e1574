"""Cross-modality localization models (paper Sec. 5, Table 3): AVDLN and the DCCA baseline.

Both models embed every 1-s segment of a video's audio [B, T, 128] and visual [B, T, 7, 7, 512]
features into a common space, one segment at a time (no temporal model), and output the
Euclidean distance of each synchronized pair (eq. 9). Because segments are independent, training
pairs can be fed as "videos" of T=1 (see `ave_tf/training/cross_modal_pairs.py`), and a test
video is embedded once and searched with `ave_tf/evaluation/cross_modal_search.py` (eq. 8).
Padding a batch therefore changes no real segment's embedding or distance; the `segment_mask`
output (`ave_tf.layers.SegmentMask`: trailing all-zero segments are padding) tells the search
where each video ends, so a padded segment is never searched.

AVDLN (audio-visual distance learning network): two 2-layer fully connected towers trained with
the contrastive loss (eq. 10). The default sizes are those of the authors' release
(`cmm_train.py`): audio 128 -> 128 -> 64 and visual 512 (the global average of the pool5 map,
which the model computes itself) -> 128 -> 64, LeakyReLU(0.3) after the first layer, a linear
output layer.

DCCA (deep canonical correlation analysis, Andrew et al., ICML 2013): the same towers, with
`dcca_output_dim` outputs, trained to maximize the total canonical correlation of synchronized
event pairs. After training, a linear CCA fitted on training pairs (`fit_linear_cca` in
`ave_tf/training/cross_modal_task.py`) maps each tower output onto its whitened canonical
directions; the mean and projection live in non-trainable weights (`LinearCCAProjection`), so
saved and exported models carry them. DCCA's test-time distance is the Euclidean distance between
the two projections: in whitened canonical coordinates a perfectly correlated pair coincides, so
this is the distance counterpart of (negative) correlation and the same sliding-window search
serves both models.
"""

import dataclasses

import keras
from keras import layers, ops

from ave_tf.data import schema
from ave_tf.layers import SegmentMask, SpatialAveragePooling
from ave_tf.models.registry import register_model
from ave_tf.utils import hyperparams

METHODS = ("avdln", "dcca")
# Negative training pairs (see ave_tf/training/cross_modal_pairs.py for the exact sampling).
NEGATIVE_STRATEGIES = ("mixed", "background", "shifted", "cross_video")
# How training pairs are batched (see the CrossModalConfig docstring).
TRAIN_PAIRS = ("video_batches", "shuffled_segments")
# sqrt(max(d^2, eps)): the gradient of the distance stays finite at d = 0 (as in the authors' code).
DISTANCE_EPSILON = 1e-7


@dataclasses.dataclass
class CrossModalConfig:
    """Configuration of a cross-modality localization model.

    Attributes:
      method: "avdln" (contrastive distance learning) or "dcca" (the paper's baseline).
      hidden_size: width of the first fully connected layer of both towers.
      embedding_dim: AVDLN output size (the common space of eq. 9).
      leaky_relu_alpha: negative slope of the LeakyReLU between the two layers.
      margin: contrastive-loss margin `th` of eq. 10 (2.0 in the paper).
      negatives: negative pairs for training: "background" (the synchronized audio and visual
        of a background segment, the authors' choice), "shifted" (event audio at t with visual of
        another segment of the same video), "cross_video" (event audio with a segment of another
        video in the batch), or "mixed" (default: every background pair plus one shifted or
        cross-video negative per positive, see `shifted_fraction`).
      shifted_fraction: in "mixed", the probability that a positive's extra negative is
        shifted in time rather than taken from another video.
      train_pairs: "video_batches" (default: each step takes `trainer.batch_size` videos and
        pairs their segments as `negatives` says, fresh negatives every epoch) or
        "shuffled_segments" (the authors' `cmm_train.py`: every labelled segment of the split is
        one synchronized pair, event = 1, background = 0, all of them reshuffled every epoch
        and `trainer.batch_size` pairs per step; needs `negatives: background`).
      dcca_output_dim: DCCA tower output size = number of canonical components correlated by the
        loss and kept by the linear CCA projection.
      dcca_reg: ridge `r1 = r2` added to both covariance matrices (DCCA loss and linear CCA).
    """

    method: str = "avdln"
    hidden_size: int = 128
    embedding_dim: int = 64
    leaky_relu_alpha: float = 0.3
    margin: float = 2.0
    negatives: str = "mixed"
    shifted_fraction: float = 0.5
    train_pairs: str = "video_batches"
    dcca_output_dim: int = 20
    dcca_reg: float = 1e-3

    def validate(self) -> "CrossModalConfig":
        """Raises ValueError naming the first invalid field; returns self."""
        if self.method not in METHODS:
            raise ValueError(
                f"CrossModalConfig.method must be one of {METHODS}, got {self.method!r}"
            )
        if self.negatives not in NEGATIVE_STRATEGIES:
            raise ValueError(
                f"CrossModalConfig.negatives must be one of {NEGATIVE_STRATEGIES}, "
                f"got {self.negatives!r}"
            )
        if self.train_pairs not in TRAIN_PAIRS:
            raise ValueError(
                f"CrossModalConfig.train_pairs must be one of {TRAIN_PAIRS}, "
                f"got {self.train_pairs!r}"
            )
        if self.train_pairs == "shuffled_segments" and self.negatives != "background":
            raise ValueError(
                "CrossModalConfig.train_pairs='shuffled_segments' pairs each segment with "
                f"itself only: it needs negatives='background', got {self.negatives!r}"
            )
        for name in ("hidden_size", "embedding_dim", "dcca_output_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"CrossModalConfig.{name} must be a positive integer, got {value!r}"
                )
        requirements = {
            "margin": (lambda v: v > 0, "be > 0"),
            "shifted_fraction": (lambda v: 0 <= v <= 1, "lie in [0, 1]"),
            "leaky_relu_alpha": (lambda v: v >= 0, "be >= 0"),
            "dcca_reg": (lambda v: v >= 0, "be >= 0"),
        }
        for name, (is_valid, requirement) in requirements.items():
            value = getattr(self, name)
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (is_number and is_valid(value)):
                raise ValueError(f"CrossModalConfig.{name} must {requirement}, got {value!r}")
        return self

    def to_dict(self) -> dict:
        return hyperparams.to_dict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "CrossModalConfig":
        """Builds and validates a config; unknown keys and wrong types name the field."""
        return hyperparams.from_dict(cls, values).validate()


@keras.saving.register_keras_serializable(package="ave_tf")
class SegmentPairDistance(keras.layers.Layer):
    """Euclidean distance between synchronized audio and visual embeddings, per segment.

    Args:
      epsilon: floor of the squared distance, so the gradient stays finite at zero distance.

    Call arguments:
      audio: [B, T, D] audio embeddings.
      visual: [B, T, D] visual embeddings of the same T segments.

    Returns:
      [B, T] distances `||R^v_t - R^a_t||_2`.

    Example:
      distances = SegmentPairDistance()(audio_embedding, visual_embedding)

    Reference:
      Tian et al., ECCV 2018, eq. 9.
    """

    def __init__(self, epsilon: float = DISTANCE_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, audio_shape, visual_shape):
        if audio_shape[-1] != visual_shape[-1]:
            raise ValueError(
                f"{self.name}: audio embedding size {audio_shape[-1]} != visual "
                f"embedding size {visual_shape[-1]}"
            )
        self.built = True

    def call(self, audio, visual):
        audio_steps, visual_steps = audio.shape[1], visual.shape[1]
        if audio_steps is not None and visual_steps is not None and audio_steps != visual_steps:
            raise ValueError(
                f"{self.name}: audio has {audio_steps} segments but visual has {visual_steps}; "
                "synchronized pairs need the same T"
            )
        squared = ops.sum(ops.square(audio - visual), axis=-1)
        return ops.sqrt(ops.maximum(squared, self.epsilon))

    def compute_output_shape(self, audio_shape, visual_shape):
        return tuple(audio_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config


@keras.saving.register_keras_serializable(package="ave_tf")
class LinearCCAProjection(keras.layers.Layer):
    """`(x - mean) @ projection` with a mean and projection fitted by linear CCA.

    Both weights are non-trainable: they start as zero mean and a truncated identity and are set
    after the DCCA networks are trained (`set_projection`), then travel with saved models.

    Args:
      components: number of canonical directions kept (the output size).

    Call arguments:
      inputs: [..., input_dim] tower outputs.

    Returns:
      [..., components] whitened canonical coordinates.

    Example:
      projected = LinearCCAProjection(20)(tower_output)
      layer.set_projection(mean, projection)  # numpy [input_dim], [input_dim, components]

    Reference:
      Andrew et al., "Deep Canonical Correlation Analysis", ICML 2013, Sec. 2-3.
    """

    def __init__(self, components: int, **kwargs):
        super().__init__(**kwargs)
        self.components = components

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if self.components > input_dim:
            raise ValueError(
                f"{self.name}: {self.components} components exceed the input size {input_dim}"
            )
        self.mean = self.add_weight(
            name="mean", shape=(input_dim,), initializer="zeros", trainable=False
        )
        self.projection = self.add_weight(
            name="projection",
            shape=(input_dim, self.components),
            initializer=keras.initializers.Identity(),
            trainable=False,
        )
        self.built = True

    def call(self, inputs):
        return ops.matmul(
            inputs - ops.cast(self.mean, inputs.dtype), ops.cast(self.projection, inputs.dtype)
        )

    def set_projection(self, mean, projection) -> None:
        """Stores a fitted CCA mean [input_dim] and projection [input_dim, components]."""
        expected = (tuple(self.mean.shape), tuple(self.projection.shape))
        if (tuple(mean.shape), tuple(projection.shape)) != expected:
            raise ValueError(
                f"{self.name}: CCA mean/projection shapes {mean.shape}, {projection.shape} "
                f"!= {expected}"
            )
        self.mean.assign(ops.cast(mean, self.mean.dtype))
        self.projection.assign(ops.cast(projection, self.projection.dtype))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.components)

    def get_config(self):
        config = super().get_config()
        config.update({"components": self.components})
        return config


# Layers of the DCCA model that `fit_linear_cca` fills in.
AUDIO_CCA_LAYER = "audio_cca"
VISUAL_CCA_LAYER = "visual_cca"


def _tower(x, config: CrossModalConfig, output_dim: int, name: str):
    """Two fully connected layers applied to each segment independently."""
    x = layers.Dense(config.hidden_size, name=f"{name}_fc1")(x)
    x = layers.LeakyReLU(negative_slope=config.leaky_relu_alpha, name=f"{name}_leaky_relu")(x)
    return layers.Dense(output_dim, name=f"{name}_fc2")(x)


@register_model("cross_modal", CrossModalConfig)
def build_cross_modal_model(config: CrossModalConfig, use_cudnn="auto") -> keras.Model:
    """Builds AVDLN or DCCA as a functional model.

    Args:
      config: a `CrossModalConfig` (validated here).
      use_cudnn: unused (no recurrent layers); the registry's builder signature.

    Returns:
      A `keras.Model` with inputs `{"audio": [B, T, 128], "visual": [B, T, 7, 7, 512]}` (T
      variable) and outputs `audio_embedding` [B, T, D], `visual_embedding` [B, T, D] and
      `distances` [B, T], and `segment_mask` [B, T] float32 (1 = real segment, 0 = padding,
      for `cross_modal_search.segment_lengths`). DCCA also outputs the raw network outputs
      `audio_tower` and `visual_tower` [B, T, dcca_output_dim] that its loss and the linear CCA
      fit use (D = embedding_dim for AVDLN, dcca_output_dim for DCCA).
    """
    config.validate()
    # === Inputs ===
    audio = keras.Input((None, schema.AUDIO_DIM), name="audio")
    visual = keras.Input((None, *schema.VISUAL_SHAPE), name="visual")

    # === Graph ===
    # Not TimeDistributed(GlobalAveragePooling2D): traced with an unknown batch and T, Keras'
    # TimeDistributed returned [B, B, 512] (the distance signature failed unless B was 1 or T).
    pooled_visual, _ = SpatialAveragePooling(name="visual_global_pool")(visual)
    outputs = {}
    if config.method == "avdln":
        audio_embedding = _tower(audio, config, config.embedding_dim, "audio")
        visual_embedding = _tower(pooled_visual, config, config.embedding_dim, "visual")
    else:
        audio_tower = _tower(audio, config, config.dcca_output_dim, "audio")
        visual_tower = _tower(pooled_visual, config, config.dcca_output_dim, "visual")
        components = config.dcca_output_dim
        audio_embedding = LinearCCAProjection(components, name=AUDIO_CCA_LAYER)(audio_tower)
        visual_embedding = LinearCCAProjection(components, name=VISUAL_CCA_LAYER)(visual_tower)
        outputs.update({"audio_tower": audio_tower, "visual_tower": visual_tower})
    distances = SegmentPairDistance(name="distances")(audio_embedding, visual_embedding)
    outputs.update(
        {
            "audio_embedding": audio_embedding,
            "visual_embedding": visual_embedding,
            "distances": distances,
            "segment_mask": SegmentMask(name="segment_mask")(audio, visual),
        }
    )

    # === Model ===
    return keras.Model({"audio": audio, "visual": visual}, outputs, name=config.method)
