"""Encoder-decoder temporal convolutional network, ED-TCN (the paper's baseline, section 6.3)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ave_tf")
class EncoderDecoderTCN(keras.layers.Layer):
    """Maps a segment sequence to per-segment features with temporal convolutions.

    The ED-TCN of Lea et al. that the paper benchmarks against (section 6.3, 46.9% on AVE
    with the V model's features): an encoder of `len(filters)` stages (1-D convolution,
    dropout, normalized ReLU, max pooling by 2) and a mirrored decoder (upsampling by 2,
    1-D convolution, dropout, normalized ReLU). Convolutions use 'same' padding and pooling
    rounds up (ceil(T / 2)); each decoder stage crops its upsampled sequence back to the
    length of the matching encoder stage, so any T >= 1 gives T outputs (10 -> 5 -> 3 -> 6
    cropped to 5 -> 10). Normalized ReLU divides the rectified activations of each segment
    by their maximum over channels (plus 1e-5).

    With a `mask`, padded segments are zeroed before every convolution and after every stage
    (the mask is max-pooled and cropped along with the sequence), so a real segment sees what
    the unpadded video's 'same' padding shows it: zeros, never padding's features. Pooling a
    real segment with a zeroed one is exact since normalized ReLU outputs are >= 0.

    Args:
        filters: sequence of ints. Channels of the encoder stages, first to last; the decoder
            uses them in reverse, so the output has `filters[0]` channels.
        kernel_size: int. Temporal extent of every convolution, in segments.
        dropout: float. Channel-wise (spatial) dropout rate after every convolution.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        sequence: float tensor `[batch, time, features]`.
        mask: optional float or bool tensor `[batch, time]`, 1 for real segments and 0 for
            padding (e.g. `SegmentMask`); padded outputs are 0.
        training: bool, whether dropout is active.

    Returns:
        `[batch, time, filters[0]]`.

    Example:
    ```python
    features = EncoderDecoderTCN((64, 96), kernel_size=5)(np.random.rand(2, 10, 512))
    # (2, 10, 64)
    ```

    Reference:
        Lea et al., "Temporal Convolutional Networks for Action Segmentation and Detection",
        CVPR 2017, section 3.1 (ED-TCN); Tian et al., ECCV 2018, section 6.3.
    """

    def __init__(self, filters=(64, 96), kernel_size=5, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if not filters:
            raise ValueError(f"{self.name}: filters must name at least one stage")
        self.filters = tuple(int(f) for f in filters)
        self.kernel_size = kernel_size
        self.dropout = dropout

    def _conv(self, channels, name):
        return keras.layers.Conv1D(
            channels, self.kernel_size, padding="same", dtype=self.dtype_policy, name=name
        )

    def build(self, sequence_shape):
        self.encoder_convs = [
            self._conv(f, f"encoder_conv_{i}") for i, f in enumerate(self.filters)
        ]
        decoder_filters = tuple(reversed(self.filters))
        self.decoder_convs = [
            self._conv(f, f"decoder_conv_{i}") for i, f in enumerate(decoder_filters)
        ]
        self.dropout_layer = keras.layers.SpatialDropout1D(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )
        channels = sequence_shape[-1]
        for conv, out_channels in zip(self.encoder_convs, self.filters, strict=True):
            conv.build((None, None, channels))
            channels = out_channels
        for conv, out_channels in zip(self.decoder_convs, decoder_filters, strict=True):
            conv.build((None, None, channels))
            channels = out_channels

    @staticmethod
    def _normalized_relu(x):
        x = ops.relu(x)
        return x / (ops.max(x, axis=-1, keepdims=True) + 1e-5)

    @staticmethod
    def _pool(x):
        """Max pooling by 2 that keeps a last odd segment: ceil(T / 2) outputs."""
        return ops.max_pool(x, pool_size=2, strides=2, padding="same")

    def call(self, sequence, mask=None, training=None):
        keep = None if mask is None else ops.expand_dims(ops.cast(mask, sequence.dtype), -1)
        x = self._masked(sequence, keep)
        skips = []
        for conv in self.encoder_convs:
            skips.append((ops.shape(x)[1], keep))
            x = self._normalized_relu(self.dropout_layer(conv(x), training=training))
            x = self._pool(self._masked(x, keep))
            keep = None if keep is None else self._pool(keep)
        for conv, (length, keep) in zip(self.decoder_convs, reversed(skips), strict=True):
            x = self._masked(ops.repeat(x, 2, axis=1)[:, :length], keep)
            x = self._normalized_relu(self.dropout_layer(conv(x), training=training))
        return self._masked(x, keep)

    @staticmethod
    def _masked(x, keep):
        return x if keep is None else x * keep

    def compute_mask(self, sequence, mask=None):
        return mask

    def compute_output_shape(self, sequence_shape):
        return tuple(sequence_shape[:-1]) + (self.filters[0],)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"filters": self.filters, "kernel_size": self.kernel_size, "dropout": self.dropout}
        )
        return config
