"""Settings of the synthetic default dataset (`ave_synth`), stored in dataset.json `extra`."""

import dataclasses

from ave_tf.data import schema

# Bumped whenever the same seed and settings would produce different features.
GENERATOR_VERSION = 2  # 2: splits written in a seeded random order

# The release has 178 background-only videos for weakly supervised training.
NOISY_VIDEOS = 178


class SyntheticConfigError(ValueError):
    """A generator setting outside its valid range (names the setting)."""


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """How `ave_synth` generates features on the real AVE label structure.

    Scale and storage:
      seed: seeds the class prototypes and, with the annotation row, every video.
      fraction: share of each split's videos kept, stratified by class (at least one per class).
      full_scale: keep every annotation row and all 178 noisy videos (ignores `fraction`).
      visual_dtype: storage of visual maps, "float16" (half the disk) or "float32".

    Planted structure (probabilities are per video unless said otherwise):
      audio_offset_prob: the audio track is shifted by one segment (earlier or later).
      audible_only_prob / visible_only_prob: a background stretch of a partial-event video
        has the class sound without the object in view / the object in view but silent;
        the remaining stretches have neither.
      distractor_prob: a silent object of another class is visible for part of the video.
      interference_prob: an off-screen sound of another class is mixed into the audio.
      shared_confusion_prob: the video's sound and look are confusable with the same other
        class (otherwise each modality has its own confuser), so fusion cannot always help.
      object_radius: range of the sounding object's radius in grid cells (a few of 49 cells).
      scene_context: how much the scene (every cell) tells about the class family.
    """

    seed: int = 0
    fraction: float = 0.25
    full_scale: bool = False
    visual_dtype: str = "float16"
    audio_offset_prob: float = 0.15
    audible_only_prob: float = 0.35
    visible_only_prob: float = 0.35
    distractor_prob: float = 0.2
    interference_prob: float = 0.25
    shared_confusion_prob: float = 0.3
    object_radius: tuple = (0.5, 1.0)
    scene_context: float = 0.3

    def validate(self) -> "SyntheticConfig":
        """Returns self; raises SyntheticConfigError naming the first bad setting."""
        if not 0.0 < self.fraction <= 1.0:
            raise SyntheticConfigError(f"fraction must lie in (0, 1], got {self.fraction}")
        if self.visual_dtype not in schema.VISUAL_DTYPES:
            raise SyntheticConfigError(
                f"visual_dtype must be one of {schema.VISUAL_DTYPES}, got {self.visual_dtype!r}"
            )
        if self.seed < 0:
            raise SyntheticConfigError(f"seed must be non-negative, got {self.seed}")
        for name in (
            "audio_offset_prob",
            "audible_only_prob",
            "visible_only_prob",
            "distractor_prob",
            "interference_prob",
            "shared_confusion_prob",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SyntheticConfigError(f"{name} must lie in [0, 1], got {value}")
        if self.audible_only_prob + self.visible_only_prob > 1.0:
            raise SyntheticConfigError("audible_only_prob + visible_only_prob must be <= 1")
        low, high = self.object_radius
        if not 0.0 < low <= high:
            raise SyntheticConfigError(f"object_radius must be 0 < low <= high: {low}, {high}")
        return self

    @property
    def effective_fraction(self) -> float:
        return 1.0 if self.full_scale else self.fraction

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["object_radius"] = list(self.object_radius)
        return out
