"""Synthetic videos on the real AVE label structure: one annotation row in, features out.

Every video gets its own random stream derived from (seed, row), so a row's features are the
same wherever it appears (a split and its `*_match` twin), whatever subset is generated and in
whatever order or process.
"""

import dataclasses

import numpy as np

from ave_tf.data import ave_metadata, example_codec, schema
from ave_tf.data.synthetic_config import SyntheticConfig
from ave_tf.data.synthetic_video import (
    VideoPlan,
    plan_background_video,
    plan_video,
    render_audio,
    render_visual,
)
from ave_tf.data.synthetic_world import build_world

SOURCE = "synthetic"
# Independent random streams for annotated rows and background-only videos.
_ANNOTATED_STREAM = 1
_NOISY_STREAM = 2


def noisy_video_id(index: int) -> str:
    return f"noisy_{index:03d}"


@dataclasses.dataclass
class SyntheticVideo:
    """One generated video: features, labels and the plan they were rendered from."""

    video_id: str
    audio: np.ndarray  # [T, 128] float32
    visual: np.ndarray  # [T, 7, 7, 512] float32
    labels: np.ndarray  # [T] int64
    class_index: int
    event_start: int
    event_end: int
    annotation_index: int
    plan: VideoPlan

    @property
    def class_name(self) -> str:
        return ave_metadata.class_names()[self.class_index]

    def encode(self, visual_dtype: str) -> bytes:
        """The serialized SequenceExample of this video."""
        return example_codec.encode_video(
            video_id=self.video_id,
            audio=self.audio,
            visual=self.visual,
            labels=self.labels,
            class_index=self.class_index,
            class_name=self.class_name,
            event_start=self.event_start,
            event_end=self.event_end,
            source=SOURCE,
            annotation_index=self.annotation_index,
            visual_dtype=visual_dtype,
        )


class SyntheticGenerator:
    """Generates the synthetic version of annotated AVE rows and background-only videos.

    Args:
      config: generator settings (validated here).

    Example:
      generator = SyntheticGenerator(SyntheticConfig(seed=0))
      video = generator.annotated(ave_metadata.read_annotations()[17])
      record = video.encode("float16")
    """

    def __init__(self, config: SyntheticConfig):
        self.config = config.validate()
        self.world = build_world(config.seed)

    def _rng(self, stream: int, index: int) -> np.random.Generator:
        return np.random.default_rng([self.config.seed, stream, index])

    def annotated(self, annotation: ave_metadata.Annotation) -> SyntheticVideo:
        """The video of one Annotations.txt row (labels from its class and event span)."""
        rng = self._rng(_ANNOTATED_STREAM, annotation.row)
        class_index = ave_metadata.class_index(annotation.category)
        plan = plan_video(
            self.world, self.config, rng, class_index, annotation.start, annotation.end
        )
        return SyntheticVideo(
            video_id=annotation.video_id,
            audio=render_audio(self.world, plan, rng),
            visual=render_visual(self.world, self.config, plan, rng),
            labels=plan.labels,
            class_index=class_index,
            event_start=annotation.start,
            event_end=annotation.end,
            annotation_index=annotation.row,
            plan=plan,
        )

    def background(self, index: int) -> SyntheticVideo:
        """Background-only video number `index` (class 28 at video level, like the release's
        178 noisy videos)."""
        rng = self._rng(_NOISY_STREAM, index)
        plan = plan_background_video(self.world, self.config, rng)
        return SyntheticVideo(
            video_id=noisy_video_id(index),
            audio=render_audio(self.world, plan, rng),
            visual=render_visual(self.world, self.config, plan, rng),
            labels=plan.labels,
            class_index=schema.BACKGROUND_CLASS,
            event_start=0,
            event_end=0,
            annotation_index=-1,
            plan=plan,
        )
