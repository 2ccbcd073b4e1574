"""Keras 3 layers (keras.ops only, backend-agnostic): attention, fusion, MIL pooling, ED-TCN,
the padding mask.

Importing this package registers every layer with Keras serialization (package "ave_tf"), so a
saved `.keras` model that uses them loads after `import ave_tf.layers`.
"""

from ave_tf.layers.additive_fusion import AdditiveFusion
from ave_tf.layers.audio_guided_visual_attention import AudioGuidedVisualAttention
from ave_tf.layers.audio_visual_co_attention import AudioVisualCoAttention
from ave_tf.layers.concat_fusion import ConcatFusion
from ave_tf.layers.dual_multimodal_residual_fusion import DualMultimodalResidualFusion
from ave_tf.layers.dual_multimodal_residual_fusion_ensemble import (
    DualMultimodalResidualFusionEnsemble,
)
from ave_tf.layers.encoder_decoder_tcn import EncoderDecoderTCN
from ave_tf.layers.gated_fusion import GatedFusion
from ave_tf.layers.gated_multimodal_bilinear_fusion import GatedMultimodalBilinearFusion
from ave_tf.layers.gated_multimodal_unit import GatedMultimodalUnit
from ave_tf.layers.max_pooling_fusion import MaxPoolingFusion
from ave_tf.layers.mil_pooling import MILPooling
from ave_tf.layers.multimodal_bilinear_fusion import MultimodalBilinearFusion
from ave_tf.layers.multimodal_residual_fusion import MultimodalResidualFusion
from ave_tf.layers.segment_mask import SegmentMask
from ave_tf.layers.spatial_average_pooling import SpatialAveragePooling
from ave_tf.layers.visual_guided_audio_attention import VisualGuidedAudioAttention

__all__ = [
    "AdditiveFusion",
    "AudioGuidedVisualAttention",
    "AudioVisualCoAttention",
    "ConcatFusion",
    "DualMultimodalResidualFusion",
    "DualMultimodalResidualFusionEnsemble",
    "EncoderDecoderTCN",
    "GatedFusion",
    "GatedMultimodalBilinearFusion",
    "GatedMultimodalUnit",
    "MILPooling",
    "MaxPoolingFusion",
    "MultimodalBilinearFusion",
    "MultimodalResidualFusion",
    "SegmentMask",
    "SpatialAveragePooling",
    "VisualGuidedAudioAttention",
]
