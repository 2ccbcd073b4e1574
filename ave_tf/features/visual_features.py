"""Visual segment features: Keras VGG-19 (ImageNet) `block5_pool` of sampled frames, averaged.

Each 1-s segment gives `frames_per_second` RGB frames of 224 x 224 (see `video_decoding`);
they go through VGG-19 up to pool5 with the Keras VGG preprocessing (caffe mode: RGB -> BGR,
ImageNet mean subtracted, no scaling) and their 7 x 7 x 512 maps are averaged (Sec. 6.1).
"""

from collections.abc import Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf

from ave_tf.data import schema
from ave_tf.features.random_weights import assign_random_weights
from ave_tf.features.weight_files import (
    VGG19_FLAG,
    VGG19_HOW_TO_GET,
    load_weight_file,
    require_weight_file,
)

FRAME_SIZE = 224


def build_vgg19_pool5(
    weights_path: str | None = None, random_weights: bool = False, seed: int = 0
) -> keras.Model:
    """VGG-19 without its classifier: uint8-range RGB [N, 224, 224, 3] -> pool5 [N, 7, 7, 512].

    Args:
      weights_path: the Keras ImageNet notop weight file (`vgg19_weights_tf_dim_ordering_tf_
        kernels_notop.h5`) or a `.weights.h5` file saved from this model.
      random_weights: use random weights from `seed` instead (tests, smoke runs, benchmarks).
      seed: seed of the random weights.

    Raises:
      WeightsError: the file is missing or does not hold VGG-19 notop weights.
    """
    if not random_weights:
        require_weight_file(weights_path, VGG19_FLAG, VGG19_HOW_TO_GET)
    model = keras.applications.VGG19(
        include_top=False, weights=None, input_shape=(FRAME_SIZE, FRAME_SIZE, 3)
    )
    if random_weights:
        return assign_random_weights(model, seed)
    return load_weight_file(
        model, weights_path, VGG19_FLAG, "a VGG-19 notop weight file", VGG19_HOW_TO_GET
    )


class VisualFeatureExtractor:
    """Averages VGG-19 pool5 maps over the frames of each segment.

    Args:
      weights_path: see `build_vgg19_pool5`.
      random_weights: use random weights (same cost as real ones).
      seed: seed of the random weights.
      batch_size: frames per forward pass; whole segments are batched together.

    Example:
      extractor = VisualFeatureExtractor(random_weights=True)
      visual = extractor.segment_features(decoder.segments())  # [T, 7, 7, 512]
    """

    def __init__(
        self,
        weights_path: str | None = None,
        random_weights: bool = False,
        batch_size: int = 32,
        seed: int = 0,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.model = build_vgg19_pool5(weights_path, random_weights, seed)
        self._forward = tf.function(
            self._pool5,
            input_signature=[tf.TensorSpec([None, FRAME_SIZE, FRAME_SIZE, 3], tf.uint8)],
            reduce_retracing=True,
        )

    def _pool5(self, frames: tf.Tensor) -> tf.Tensor:
        images = keras.applications.vgg19.preprocess_input(tf.cast(frames, tf.float32))
        return self.model(images, training=False)

    def frame_features(self, frames: np.ndarray) -> np.ndarray:
        """uint8 [N, 224, 224, 3] RGB -> float32 [N, 7, 7, 512], in batches of `batch_size`."""
        outputs = [
            self._forward(frames[start : start + self.batch_size]).numpy()
            for start in range(0, len(frames), self.batch_size)
        ]
        return np.concatenate(outputs) if outputs else np.zeros([0, *schema.VISUAL_SHAPE])

    def iter_segment_features(self, segments: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Yields [7, 7, 512] per segment of uint8 [frames, 224, 224, 3] frames."""
        pending: list[np.ndarray] = []
        pending_frames = 0
        for frames in segments:
            if frames.shape[1:] != (FRAME_SIZE, FRAME_SIZE, 3):
                raise ValueError(f"frames must be [n, 224, 224, 3], got {frames.shape}")
            pending.append(frames)
            pending_frames += len(frames)
            if pending_frames >= self.batch_size:
                yield from self._average(pending)
                pending, pending_frames = [], 0
        if pending:
            yield from self._average(pending)

    def segment_features(self, segments: Iterable[np.ndarray]) -> np.ndarray:
        """[T, 7, 7, 512] float32 for the segments of one video."""
        features = list(self.iter_segment_features(segments))
        if not features:
            return np.zeros([0, *schema.VISUAL_SHAPE], np.float32)
        return np.stack(features).astype(np.float32)

    def _average(self, segments: list[np.ndarray]) -> Iterator[np.ndarray]:
        maps = self.frame_features(np.concatenate(segments))
        start = 0
        for frames in segments:
            yield maps[start : start + len(frames)].mean(axis=0)
            start += len(frames)
