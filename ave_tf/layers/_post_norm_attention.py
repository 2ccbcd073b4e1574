"""Post-norm attention blocks shared by CMBS's temporal and cross-modal relation layers.

A block is `x = LayerNorm(x + dropout(attention(x, memory)))`, then (optionally) the
feed-forward `x = LayerNorm(x + dropout(W_2 dropout(relu(W_1 x))))`: PyTorch's
`nn.TransformerEncoderLayer` order (norm after the residual), as CMRAN/CMBS code it, with
PyTorch's LayerNorm epsilon (1e-5).
"""

import keras
from keras import ops


def key_mask(query_mask, key_mask):
    """`[batch, Tq, Tk]` bool attention mask (every query sees the real keys only), or None
    when there is no mask. Both masks are `[batch, T]`, 1 for real segments."""
    if query_mask is None or key_mask is None:
        return None
    keys = ops.expand_dims(ops.cast(key_mask, "bool"), 1)
    no_query = ops.expand_dims(ops.zeros_like(ops.cast(query_mask, "bool")), -1)
    return ops.logical_or(keys, no_query)


def make_block(owner, prefix, units, num_heads, feedforward_units, dropout, attention_dropout):
    """Creates the block's sub-layers as attributes `{prefix}_{part}` of `owner` (tracked)."""
    if units % num_heads:
        raise ValueError(f"{owner.name}: units={units} is not a multiple of num_heads={num_heads}")
    kw = lambda part: {"dtype": owner.dtype_policy, "name": f"{prefix}_{part}"}  # noqa: E731
    parts = {
        "attention": keras.layers.MultiHeadAttention(
            num_heads, units // num_heads, dropout=attention_dropout, **kw("attention")
        ),
        "attention_norm": keras.layers.LayerNormalization(epsilon=1e-5, **kw("attention_norm")),
        "attention_dropout": keras.layers.Dropout(dropout, **kw("attention_dropout")),
    }
    if feedforward_units:
        parts.update(
            feedforward_in=keras.layers.Dense(
                feedforward_units, activation="relu", **kw("feedforward_in")
            ),
            feedforward_out=keras.layers.Dense(units, **kw("feedforward_out")),
            feedforward_norm=keras.layers.LayerNormalization(
                epsilon=1e-5, **kw("feedforward_norm")
            ),
            feedforward_dropout=keras.layers.Dropout(dropout, **kw("feedforward_dropout")),
            output_dropout=keras.layers.Dropout(dropout, **kw("output_dropout")),
        )
    for part, layer in parts.items():
        setattr(owner, f"{prefix}_{part}", layer)
    return parts


def build_block(parts, query_shape, memory_shape):
    parts["attention"].build(query_shape, memory_shape)
    parts["attention_norm"].build(query_shape)
    if "feedforward_in" in parts:
        parts["feedforward_in"].build(query_shape)
        parts["feedforward_out"].build(tuple(query_shape[:-1]) + (parts["feedforward_in"].units,))
        parts["feedforward_norm"].build(query_shape)


def apply_block(parts, query, memory, attention_mask, training, residual=None):
    """The block on `query` attending over `memory`; the first residual is `residual` (default:
    the query)."""
    attended = parts["attention"](query, memory, attention_mask=attention_mask, training=training)
    residual = query if residual is None else residual
    x = parts["attention_norm"](residual + parts["attention_dropout"](attended, training=training))
    if "feedforward_in" not in parts:
        return x
    hidden = parts["feedforward_dropout"](parts["feedforward_in"](x), training=training)
    update = parts["output_dropout"](parts["feedforward_out"](hidden), training=training)
    return parts["feedforward_norm"](x + update)
