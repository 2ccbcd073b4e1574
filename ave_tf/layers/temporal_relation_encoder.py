"""CMRAN/CMBS's internal temporal relation module: a projection and post-norm self-attention."""

import keras

from ave_tf.layers import _post_norm_attention as blocks


@keras.saving.register_keras_serializable(package="ave_tf")
class TemporalRelationEncoder(keras.layers.Layer):
    """Relates the segments of one modality to each other (CMBS's
    `InternalTemporalRelationModule`, from CMRAN): a linear projection to `units`, then
    `num_layers` transformer encoder layers (self-attention and a ReLU feed-forward, each added
    to its input and layer-normalized after, PyTorch's post-norm order).

    Args:
        units: width of the projection and of the attention (CMBS's d_model, 256).
        num_layers: encoder layers (2).
        num_heads: attention heads (4); `units` must be a multiple.
        feedforward_units: hidden width of the feed-forward (CMBS: 1024 supervised, 2048 weak).
        dropout: dropout on the attention weights, the residual branches and the feed-forward
            hidden layer (0.1).
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        features: `[batch, time, dim]`.
        segment_mask: optional `[batch, time]`, 1 for real segments: padding is never attended.
        training: dropout on when True.

    Returns:
        `[batch, time, units]`.

    Example:
    ```python
    TemporalRelationEncoder(8, num_heads=2, feedforward_units=16)(np.random.rand(2, 10, 6))
    ```

    Reference:
        Xu et al., "Cross-Modal Relation-Aware Networks for Audio-Visual Event Localization",
        ACM MM 2020; Xia and Zhao, CVPR 2022 (github.com/marmot-xy/CMBS model/main_model.py).
    """

    def __init__(
        self, units, num_layers=2, num_heads=4, feedforward_units=1024, dropout=0.1, **kwargs
    ):
        super().__init__(**kwargs)
        if units < 1 or num_layers < 1 or num_heads < 1 or feedforward_units < 1:
            raise ValueError(
                f"{self.name}: units, num_layers, num_heads, feedforward_units must be >= 1"
            )
        self.units = units
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.feedforward_units = feedforward_units
        self.dropout = dropout
        self.supports_masking = True  # a Keras mask from an LSTM is accepted (segment_mask rules)

    def build(self, features_shape, segment_mask_shape=None):
        self.projection = keras.layers.Dense(self.units, dtype=self.dtype_policy, name="projection")
        self.projection.build(features_shape)
        shape = tuple(features_shape[:-1]) + (self.units,)
        self.encoder_layers = []
        for index in range(self.num_layers):
            parts = blocks.make_block(
                self, f"layer_{index}", self.units, self.num_heads, self.feedforward_units,
                self.dropout, self.dropout,
            )  # fmt: skip
            blocks.build_block(parts, shape, shape)
            self.encoder_layers.append(parts)

    def call(self, features, segment_mask=None, training=None):
        x = self.projection(features)
        mask = blocks.key_mask(segment_mask, segment_mask)
        for parts in self.encoder_layers:
            x = blocks.apply_block(parts, x, x, mask, training)
        return x

    def compute_mask(self, *args, **kwargs):
        return None

    def compute_output_shape(self, features_shape, segment_mask_shape=None):
        return tuple(features_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "feedforward_units": self.feedforward_units,
                "dropout": self.dropout,
            }
        )
        return config
