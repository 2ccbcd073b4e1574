"""VGGish (Hershey et al., ICASSP 2017) as a Keras functional model.

The architecture of the released `vggish_slim.py`: 3x3 convolutions (stride 1, SAME, ReLU)
and 2x2 max pools (stride 2, SAME):
conv1 64 - pool1 - conv2 128 - pool2 - conv3_1/conv3_2 256 - pool3 - conv4_1/conv4_2 512 -
pool4 - flatten (6 x 4 x 512, row-major like slim.flatten) - fc1_1/fc1_2 4096 ReLU - fc2 128.
Layer names match the checkpoint scopes (vggish/conv3/conv3_1/weights -> layer "conv3_1").

The embedding: the released model's fc2 was ReLU-activated in the 2017-2018 code (slim's
arg_scope default) and is linear in later revisions. The public AVE features are
non-negative with ~65% exact zeros, i.e. taken after the ReLU, so `embedding_relu=True` is
the default; pass False for the linear embedding of newer VGGish code.
"""

import keras

from ave_tf.features import log_mel
from ave_tf.features.random_weights import assign_random_weights

EMBEDDING_SIZE = 128
INPUT_SHAPE = (log_mel.EXAMPLE_FRAMES, log_mel.NUM_MEL_BANDS)

# (layer name, filters) per convolution, in order; None marks a max pool.
_CONV_STACK = (
    ("conv1", 64),
    ("pool1", None),
    ("conv2", 128),
    ("pool2", None),
    ("conv3_1", 256),
    ("conv3_2", 256),
    ("pool3", None),
    ("conv4_1", 512),
    ("conv4_2", 512),
    ("pool4", None),
)
CONV_LAYERS = tuple(name for name, filters in _CONV_STACK if filters)
DENSE_LAYERS = ("fc1_1", "fc1_2", "fc2")


def build_vggish(
    embedding_relu: bool = True, random_seed: int | None = 0, name: str = "vggish"
) -> keras.Model:
    """Builds VGGish: [batch, 96, 64] log-mel examples -> [batch, 128] embeddings.

    Args:
      embedding_relu: apply ReLU to the fc2 embedding (the AVE release; see the module doc).
      random_seed: fill the weights with reproducible He-normal values from this seed; None
        leaves them at zero, for weights loaded right after (Keras' own random initialization
        of the 72M weights takes ~5 s on a CPU).
      name: the model name.

    Returns:
      A `keras.Model`; load real weights with `audio_features.load_vggish`.
    """
    examples = keras.Input(shape=INPUT_SHAPE, name="log_mel_examples")
    x = keras.layers.Reshape(INPUT_SHAPE + (1,), name="add_channel")(examples)
    for layer_name, filters in _CONV_STACK:
        if filters is None:
            x = keras.layers.MaxPooling2D(2, strides=2, padding="same", name=layer_name)(x)
        else:
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=layer_name)(
                x
            )
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(4096, activation="relu", kernel_initializer="zeros", name="fc1_1")(x)
    x = keras.layers.Dense(4096, activation="relu", kernel_initializer="zeros", name="fc1_2")(x)
    embedding = keras.layers.Dense(
        EMBEDDING_SIZE,
        activation="relu" if embedding_relu else None,
        kernel_initializer="zeros",
        name="fc2",
    )(x)
    model = keras.Model(examples, embedding, name=name)
    if random_seed is not None:
        assign_random_weights(model, random_seed)
    return model
