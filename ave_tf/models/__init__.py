"""Functional model builders (keras.ops only), registered by name in `models.registry`.

Importing the package registers the built-in families, one per module: `localization` (Table 1,
the Table 2 fusions and stages, DMRN/DMRFE, weak MIL, co-attention), `ed_tcn` (the Sec. 6.3
baseline) and `cross_modal` (AVDLN and DCCA, Table 3).
"""

from ave_tf.models import cross_modal, ed_tcn, localization, zoo  # noqa: F401 (registers the models)
