"""Keras 3 layers (keras.ops only, backend-agnostic): attention, fusion, MIL pooling, ED-TCN,
the padding mask, and the model zoo's layers (PSP, CMBS, CACE-Net).

Importing this package registers every layer with Keras serialization (package "ave_tf"), so a
saved `.keras` model that uses them loads after `import ave_tf.layers`.
"""

from ave_tf.layers.additive_fusion import AdditiveFusion
from ave_tf.layers.audio_guided_spatial_channel_attention import AudioGuidedSpatialChannelAttention
from ave_tf.layers.audio_guided_visual_attention import AudioGuidedVisualAttention
from ave_tf.layers.audio_visual_co_attention import AudioVisualCoAttention
from ave_tf.layers.audio_visual_interaction import AudioVisualInteraction
from ave_tf.layers.co_guided_spatial_channel_attention import CoGuidedSpatialChannelAttention
from ave_tf.layers.concat_fusion import ConcatFusion
from ave_tf.layers.cross_modal_background_suppression import CrossModalBackgroundSuppression
from ave_tf.layers.cross_modal_relation_attention import CrossModalRelationAttention
from ave_tf.layers.dual_multimodal_residual_fusion import DualMultimodalResidualFusion
from ave_tf.layers.dual_multimodal_residual_fusion_ensemble import (
    DualMultimodalResidualFusionEnsemble,
)
from ave_tf.layers.encoder_decoder_tcn import EncoderDecoderTCN
from ave_tf.layers.epoch_switch import EpochSwitch
from ave_tf.layers.gated_fusion import GatedFusion
from ave_tf.layers.gated_multimodal_bilinear_fusion import GatedMultimodalBilinearFusion
from ave_tf.layers.gated_multimodal_unit import GatedMultimodalUnit
from ave_tf.layers.max_pooling_fusion import MaxPoolingFusion
from ave_tf.layers.mil_pooling import MILPooling
from ave_tf.layers.multimodal_bilinear_fusion import MultimodalBilinearFusion
from ave_tf.layers.multimodal_residual_fusion import MultimodalResidualFusion
from ave_tf.layers.positive_sample_propagation import PositiveSamplePropagation
from ave_tf.layers.segment_cosine_similarity import SegmentCosineSimilarity
from ave_tf.layers.segment_mask import SegmentMask
from ave_tf.layers.segment_score_weighting import SegmentScoreWeighting
from ave_tf.layers.spatial_average_pooling import SpatialAveragePooling
from ave_tf.layers.temporal_relation_encoder import TemporalRelationEncoder
from ave_tf.layers.top_k_temporal_pooling import TopKTemporalPooling
from ave_tf.layers.visual_guided_audio_attention import VisualGuidedAudioAttention

__all__ = [
    "CoGuidedSpatialChannelAttention",
    "TopKTemporalPooling",
    "AudioVisualInteraction",
    "CrossModalBackgroundSuppression",
    "CrossModalRelationAttention",
    "TemporalRelationEncoder",
    "AudioGuidedSpatialChannelAttention",
    "SegmentScoreWeighting",
    "SegmentCosineSimilarity",
    "PositiveSamplePropagation",
    "AdditiveFusion",
    "AudioGuidedVisualAttention",
    "AudioVisualCoAttention",
    "ConcatFusion",
    "DualMultimodalResidualFusion",
    "DualMultimodalResidualFusionEnsemble",
    "EncoderDecoderTCN",
    "EpochSwitch",
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
