"""CMRAN/CMBS's cross-modal relation attention: one modality queries both modalities."""

import keras
from keras import ops

from ave_tf.layers import _post_norm_attention as blocks


@keras.saving.register_keras_serializable(package="ave_tf")
class CrossModalRelationAttention(keras.layers.Layer):
    """Lets each segment of one modality attend over the segments of *both* modalities (CMBS's
    `CrossModalRelationAttModule` with its `DecoderLayer`, from CMRAN): the query modality is
    projected to `units`, then each of `num_layers` layers attends from it over the
    concatenation `[memory; query]` along time (the other modality's encoded segments first),
    followed by a ReLU feed-forward, both post-norm residual as in PyTorch's transformer.

    Their `DecoderLayer` also creates a self-attention it never calls; it has no counterpart.

    Args:
        units: width of the projection, the attention and the memory (CMBS's d_model, 256).
        num_layers: layers (1).
        num_heads: attention heads (4); `units` must be a multiple.
        feedforward_units: hidden width of the feed-forward (1024).
        dropout: dropout on the attention weights, residual branches and feed-forward (0.1).
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        query: `[batch, time, dim]`, the modality that asks.
        memory: `[batch, time, units]`, the other modality (e.g. a `TemporalRelationEncoder`'s
            output).
        segment_mask: optional `[batch, time]`, 1 for real segments (both modalities share it).
        training: dropout on when True.

    Returns:
        `[batch, time, units]`.

    Example:
    ```python
    layer = CrossModalRelationAttention(8, num_heads=2, feedforward_units=16)
    layer(np.random.rand(2, 10, 6), np.random.rand(2, 10, 8))  # (2, 10, 8)
    ```

    Reference:
        Xu et al., ACM MM 2020 (CMRAN); Xia and Zhao, CVPR 2022, section 3.3
        (github.com/marmot-xy/CMBS model/main_model.py, model/models.py).
    """

    def __init__(
        self, units, num_layers=1, num_heads=4, feedforward_units=1024, dropout=0.1, **kwargs
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

    def build(self, query_shape, memory_shape, segment_mask_shape=None):
        if memory_shape[-1] != self.units:
            raise ValueError(f"{self.name}: memory width {memory_shape[-1]} != units {self.units}")
        self.projection = keras.layers.Dense(self.units, dtype=self.dtype_policy, name="projection")
        self.projection.build(query_shape)
        shape = tuple(query_shape[:-1]) + (self.units,)
        self.decoder_layers = []
        for index in range(self.num_layers):
            parts = blocks.make_block(
                self, f"layer_{index}", self.units, self.num_heads, self.feedforward_units,
                self.dropout, self.dropout,
            )  # fmt: skip
            blocks.build_block(parts, shape, (shape[0], None, self.units))
            self.decoder_layers.append(parts)

    def call(self, query, memory, segment_mask=None, training=None):
        x = self.projection(query)
        mask = None
        if segment_mask is not None:
            mask = blocks.key_mask(segment_mask, ops.concatenate([segment_mask] * 2, axis=1))
        for parts in self.decoder_layers:
            keys = ops.concatenate([ops.cast(memory, x.dtype), x], axis=1)
            x = blocks.apply_block(parts, x, keys, mask, training)
        return x

    def compute_mask(self, *args, **kwargs):
        return None

    def compute_output_shape(self, query_shape, memory_shape, segment_mask_shape=None):
        return tuple(query_shape[:-1]) + (self.units,)

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
