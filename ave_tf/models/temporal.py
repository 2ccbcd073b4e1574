"""The temporal model of a localization network: LSTM, bidirectional LSTM or ED-TCN."""

import keras

from ave_tf.layers import EncoderDecoderTCN
from ave_tf.models.config import ModelConfig


def temporal_output_width(config: ModelConfig) -> int:
    """Feature width of the temporal model's per-segment outputs."""
    if config.temporal == "bilstm":
        return 2 * config.hidden_size
    if config.temporal == "ed_tcn":
        return config.tcn_filters[0]
    return config.hidden_size


def build_temporal_layer(config: ModelConfig, name: str, use_cudnn="auto") -> keras.layers.Layer:
    """Returns a layer mapping `[batch, T, features]` to `[batch, T, temporal_output_width]`.

    Call it with `mask=` ([batch, T], 1 = real segment): the LSTMs then skip padded segments
    (the backward direction of a BiLSTM starts at each video's last real segment) and the
    ED-TCN zeroes them, so real segments never see padding.

    `use_cudnn` is passed to `keras.layers.LSTM`: "auto" lets Keras pick the GPU-only CudnnRNN
    op when a GPU is visible at trace time, False never does. Both build the same variables
    (kernel, recurrent_kernel, bias), so weights trained with one load into the other.
    """
    if config.temporal == "ed_tcn":
        return EncoderDecoderTCN(
            config.tcn_filters, config.tcn_kernel_size, dropout=config.dropout, name=name
        )
    lstm = keras.layers.LSTM(
        config.hidden_size,
        return_sequences=True,
        use_cudnn=use_cudnn,
        name=name if config.temporal == "lstm" else f"{name}_forward",
    )
    if config.temporal == "lstm":
        return lstm
    return keras.layers.Bidirectional(lstm, merge_mode="concat", name=name)
