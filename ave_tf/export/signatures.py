"""Names of the exported signatures, their inputs and outputs: the public serving interface.

Exporter, server, client and tests all refer to these constants, so the SavedModel interface is
spelled out in exactly one place (see export/README.md for shapes and semantics).
"""

# Signature keys.
SERVING_DEFAULT = "serving_default"
SUPERVISED = "supervised"
WEAK = "weak"
PARSE_AND_PREDICT = "parse_and_predict"
CLASSIFY = "classify"
DISTANCE = "distance"
LOCALIZE_A2V = "localize_a2v"
LOCALIZE_V2A = "localize_v2a"

# Input keys.
AUDIO = "audio"  # [batch, T, 128] float32
VISUAL = "visual"  # [batch, T, 7, 7, 512] float32
SERIALIZED = "serialized"  # [batch] string: serialized tf.train.SequenceExample records
QUERY_START = "query_start"  # [batch] int64: first segment of the query window
QUERY_LENGTH = "query_length"  # [batch] int64: segments in the query window
CLASSIFY_INPUTS = "inputs"  # [batch] string: serialized tf.train.Example (TF-Serving Classify)

# Output keys.
PROBABILITIES = "probabilities"  # [batch, T, 29] float32
CLASSES = "classes"  # [batch, T] int64 (classify: [batch, 29] class names)
ATTENTION = "attention"  # [batch, T, 49] float32
EVENT_SCORES = "event_scores"  # [batch, T] float32: a zoo model's event relevance (CMBS), if any
SEGMENT_SCORES = "segment_scores"  # [batch, T, 29] float32
VIDEO_PROBABILITIES = "video_probabilities"  # [batch, 29] float32
VIDEO_CLASSES = "video_classes"  # [batch] int64
NUM_SEGMENTS = "num_segments"  # [batch] int64
VIDEO_ID = "video_id"  # [batch] string
DISTANCES = "distances"  # [batch, T] float32
PAIRWISE_DISTANCES = "pairwise_distances"  # [batch, T_audio, T_visual] float32
START = "start"  # [batch] int64
END = "end"  # [batch] int64 (exclusive)
WINDOW_COSTS = "window_costs"  # [batch, T] float32, +inf where a window does not fit
SCORES = "scores"  # [batch, 29] float32 (classify)

# TF-Serving method names (SignatureDef.method_name).
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"

# Which signatures exist depends on the models given to the exporter.
LOCALIZATION_SIGNATURES = (SERVING_DEFAULT, SUPERVISED, WEAK, PARSE_AND_PREDICT, CLASSIFY)
CROSS_MODAL_SIGNATURES = (DISTANCE, LOCALIZE_A2V, LOCALIZE_V2A)
