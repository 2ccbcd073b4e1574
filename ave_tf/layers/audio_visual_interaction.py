"""CMBS's audio-visual interaction: the joint feature of both modalities attends over both."""

import keras
from keras import ops

from ave_tf.layers import _post_norm_attention as blocks


@keras.saving.register_keras_serializable(package="ave_tf")
class AudioVisualInteraction(keras.layers.Layer):
    """CMBS's `AudioVideoInter`: the element-wise product `g = x * y` of the two modalities'
    segment features attends over `[y; x]` (the other modality's segments, then this one's,
    along time) and `LayerNorm(g + dropout(attention))` is returned. There is no
    feed-forward. CMBS applies it twice: video with audio (AVInter), then audio with the
    updated video (VAInter).

    Args:
        num_heads: attention heads (CMBS: 4 supervised, 2 weak); the width must be a multiple.
        attention_dropout: dropout on the attention weights (0.2).
        dropout: dropout on the attention output before the residual (0.1).
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        features: `[batch, time, dim]`, the modality being updated.
        other: `[batch, time, dim]`, the other modality.
        segment_mask: optional `[batch, time]`, 1 for real segments.
        training: dropout on when True.

    Returns:
        `[batch, time, dim]`.

    Example:
    ```python
    AudioVisualInteraction(num_heads=2)(np.random.rand(2, 10, 8), np.random.rand(2, 10, 8))
    ```

    Reference:
        Xia and Zhao, CVPR 2022 (github.com/marmot-xy/CMBS model/main_model.py).
    """

    def __init__(self, num_heads=4, attention_dropout=0.2, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        if num_heads < 1:
            raise ValueError(f"{self.name}: num_heads must be >= 1, got {num_heads}")
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout

    def build(self, features_shape, other_shape, segment_mask_shape=None):
        units = features_shape[-1]
        if other_shape[-1] != units:
            raise ValueError(f"{self.name}: widths differ: {units} and {other_shape[-1]}")
        self.interaction = blocks.make_block(
            self, "interaction", units, self.num_heads, 0, self.dropout, self.attention_dropout
        )
        blocks.build_block(
            self.interaction, tuple(features_shape), (features_shape[0], None, units)
        )

    def call(self, features, other, segment_mask=None, training=None):
        other = ops.cast(other, features.dtype)
        joint = features * other
        mask = None
        if segment_mask is not None:
            mask = blocks.key_mask(segment_mask, ops.concatenate([segment_mask] * 2, axis=1))
        memory = ops.concatenate([other, features], axis=1)
        return blocks.apply_block(self.interaction, joint, memory, mask, training)

    def compute_output_shape(self, features_shape, other_shape, segment_mask_shape=None):
        return tuple(features_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "attention_dropout": self.attention_dropout,
                "dropout": self.dropout,
            }
        )
        return config
