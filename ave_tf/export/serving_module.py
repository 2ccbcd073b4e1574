"""The exported `tf.Module`: one `tf.function` per serving signature around the trained models.

One SavedModel carries every task (see export/README.md):

- `supervised` (= `serving_default`): per-segment class probabilities, classes and the
  audio-guided attention map of the localization model.
- `weak`: per-segment scores and the video-level MIL prediction (eq. 7) of the weak model, or of
  the localization model when no weak model is given.
- `parse_and_predict`: `supervised` on serialized SequenceExamples, parsed by the training parser.
- `classify`: TF-Serving Classify over serialized tf.Examples: video-level class scores.
- `distance`, `localize_a2v`, `localize_v2a`: only with a cross-modal model: segment distances
  (eq. 9) and the sliding-window search of a query window in the other modality (eq. 8).

Every function checks its inputs inside the graph, so a bad request fails with a clear
InvalidArgument message in any server (tensorflow_model_server included).
"""

from collections.abc import Sequence

import keras
import tensorflow as tf

from ave_tf.data import parser, schema
from ave_tf.export import signatures as sig

AUDIO_SPEC = tf.TensorSpec([None, None, schema.AUDIO_DIM], tf.float32, name=sig.AUDIO)
VISUAL_SPEC = tf.TensorSpec([None, None, *schema.VISUAL_SHAPE], tf.float32, name=sig.VISUAL)
SERIALIZED_SPEC = tf.TensorSpec([None], tf.string, name=sig.SERIALIZED)
CLASSIFY_SPEC = tf.TensorSpec([None], tf.string, name=sig.CLASSIFY_INPUTS)
QUERY_START_SPEC = tf.TensorSpec([None], tf.int64, name=sig.QUERY_START)
QUERY_LENGTH_SPEC = tf.TensorSpec([None], tf.int64, name=sig.QUERY_LENGTH)

# tf.Example features read by `classify`: flat float lists of T * 128 and T * 7 * 7 * 512 values.
_CLASSIFY_FEATURES = {
    schema.AUDIO_KEY: tf.io.VarLenFeature(tf.float32),
    schema.VISUAL_KEY: tf.io.VarLenFeature(tf.float32),
}


def _check_features(audio: tf.Tensor, visual: tf.Tensor) -> list[tf.Operation]:
    """Graph assertions: at least one segment, and audio/visual agree on [batch, T]."""
    audio_shape = tf.shape(audio, out_type=tf.int64)
    visual_shape = tf.shape(visual, out_type=tf.int64)
    return [
        tf.debugging.assert_positive(
            audio_shape[1], message="audio must have at least one segment (T >= 1)"
        ),
        tf.debugging.assert_equal(
            audio_shape[:2],
            visual_shape[:2],
            message="audio and visual must have the same batch size and number of segments T",
        ),
    ]


# Per-segment outputs a model may have beyond logits and attention, served as they are by the
# supervised signature (names in signatures.py).
_EXTRA_SEGMENT_OUTPUTS = (sig.EVENT_SCORES,)


def _argmax(x: tf.Tensor) -> tf.Tensor:
    return tf.argmax(x, axis=-1, output_type=tf.int64)


def _pad_time(x: tf.Tensor, length: tf.Tensor) -> tf.Tensor:
    """Pads axis 0 of a per-video tensor with zeros up to `length`."""
    paddings = tf.concat(
        [[[0, length - tf.shape(x)[0]]], tf.zeros([tf.rank(x) - 1, 2], tf.int32)], axis=0
    )
    return tf.pad(x, paddings)


class _Models:
    """Holds the Keras models outside of tf.Module attribute tracking.

    Only their variables are saved (as keras.export.ExportArchive does); tracking the layer
    objects themselves would serialize Keras internals the SavedModel does not need.
    """

    def __init__(self, supervised, weak, cross_modal):
        self.supervised = supervised
        self.weak = weak
        self.cross_modal = cross_modal


class AveServingModule(tf.Module):
    """Serving signatures of trained AVE models, ready for `tf.saved_model.save`.

    Args:
      supervised_model: localization model (inputs `audio`/`visual`, outputs `logits`,
        `attention`), built without GPU-only ops (`use_cudnn=False`).
      weak_model: optional localization model for `weak` and `classify` (its `video_logits`
        output gives the video prediction); defaults to `supervised_model` with mean MIL pooling.
      cross_modal_model: optional model with outputs `audio_embedding`, `visual_embedding`,
        `distances`; adds `distance`, `localize_a2v` and `localize_v2a`.
      class_names: the 29 class names, index 28 = background (the `classify` labels).

    Example:

    ```python
    module = AveServingModule(model, class_names=ave_metadata.class_names())
    tf.saved_model.save(module, path, signatures=module.signatures())
    ```
    """

    def __init__(
        self,
        supervised_model: keras.Model,
        weak_model: keras.Model | None = None,
        cross_modal_model: keras.Model | None = None,
        class_names: Sequence[str] = (),
        name: str = "ave_serving",
    ):
        super().__init__(name=name)
        if len(class_names) != schema.NUM_CLASSES:
            raise ValueError(f"class_names: expected {schema.NUM_CLASSES}, got {len(class_names)}")
        self._models = _Models(supervised_model, weak_model or supervised_model, cross_modal_model)
        self._class_names = tuple(class_names)
        tracked, seen = [], set()
        for model in (supervised_model, weak_model, cross_modal_model):
            for variable in model.variables if model is not None else ():
                if id(variable) not in seen:
                    seen.add(id(variable))
                    tracked.append(variable)
        self.model_variables = tracked

        self.supervised = tf.function(
            self._supervised, input_signature=[AUDIO_SPEC, VISUAL_SPEC], autograph=False
        )
        self.weak = tf.function(
            self._weak, input_signature=[AUDIO_SPEC, VISUAL_SPEC], autograph=False
        )
        self.parse_and_predict = tf.function(
            self._parse_and_predict, input_signature=[SERIALIZED_SPEC], autograph=False
        )
        self.classify = tf.function(
            self._classify, input_signature=[CLASSIFY_SPEC], autograph=False
        )
        if cross_modal_model is not None:
            self.distance = tf.function(
                self._distance, input_signature=[AUDIO_SPEC, VISUAL_SPEC], autograph=False
            )
            localize_signature = [AUDIO_SPEC, VISUAL_SPEC, QUERY_START_SPEC, QUERY_LENGTH_SPEC]
            self.localize_a2v = tf.function(
                self._localize_a2v, input_signature=localize_signature, autograph=False
            )
            self.localize_v2a = tf.function(
                self._localize_v2a, input_signature=localize_signature, autograph=False
            )

    @property
    def has_cross_modal(self) -> bool:
        return self._models.cross_modal is not None

    def signatures(self) -> dict:
        """Signature key -> tf.function, for `tf.saved_model.save(signatures=...)`.

        The functions are traced by the save itself (tracing them before would be repeated
        there, since saving traces in its own context).
        """
        out = {
            sig.SERVING_DEFAULT: self.supervised,
            sig.SUPERVISED: self.supervised,
            sig.WEAK: self.weak,
            sig.PARSE_AND_PREDICT: self.parse_and_predict,
            sig.CLASSIFY: self.classify,
        }
        if self.has_cross_modal:
            out[sig.DISTANCE] = self.distance
            out[sig.LOCALIZE_A2V] = self.localize_a2v
            out[sig.LOCALIZE_V2A] = self.localize_v2a
        return out

    # Localization.

    def _segment_outputs(self, model, audio, visual):
        with tf.control_dependencies(_check_features(audio, visual)):
            outputs = model({sig.AUDIO: audio, sig.VISUAL: visual}, training=False)
        logits = tf.cast(outputs["logits"], tf.float32)
        attention = tf.cast(outputs["attention"], tf.float32)
        video_logits = outputs.get("video_logits") if isinstance(outputs, dict) else None
        extras = {
            key: tf.cast(outputs[key], tf.float32)
            for key in _EXTRA_SEGMENT_OUTPUTS
            if key in outputs
        }
        return logits, attention, video_logits, extras

    def _supervised(self, audio, visual):
        logits, attention, _, extras = self._segment_outputs(self._models.supervised, audio, visual)
        return {
            sig.PROBABILITIES: tf.nn.softmax(logits, axis=-1),
            sig.CLASSES: _argmax(logits),
            sig.ATTENTION: attention,
            **extras,  # e.g. CMBS's event relevance: the signature lists what it has
        }

    def _weak(self, audio, visual):
        logits, _, video_logits, _ = self._segment_outputs(self._models.weak, audio, visual)
        if video_logits is None:
            video_logits = tf.reduce_mean(logits, axis=1)  # MIL pooling g(.), eq. 7
        video_probabilities = tf.nn.softmax(tf.cast(video_logits, tf.float32), axis=-1)
        return {
            sig.SEGMENT_SCORES: tf.nn.softmax(logits, axis=-1),
            sig.VIDEO_PROBABILITIES: video_probabilities,
            sig.CLASSES: _argmax(logits),
            sig.VIDEO_CLASSES: _argmax(video_probabilities),
        }

    def _parse_and_predict(self, serialized):
        features = parser.parse_batch(serialized)
        audio, visual = features[parser.AUDIO], features[parser.VISUAL]
        lengths = features[parser.NUM_SEGMENTS]
        check = tf.debugging.assert_positive(
            lengths, message="serialized: every record needs at least one segment"
        )
        with tf.control_dependencies([check]):
            time = tf.shape(audio)[1]
        # Same-length batches (all AVE videos are 10 s) run batched; mixed lengths run one video
        # at a time, so trailing padding never reaches a (bidirectional) recurrent layer.
        probabilities, attention = tf.cond(
            tf.reduce_all(tf.equal(lengths, time)),
            lambda: self._probabilities_and_attention(audio, visual),
            lambda: self._per_video(audio, visual, lengths, time),
        )
        mask = tf.sequence_mask(lengths, time)
        mask_f = tf.cast(mask, tf.float32)[..., None]
        return {
            sig.PROBABILITIES: probabilities * mask_f,
            sig.CLASSES: tf.where(mask, _argmax(probabilities), tf.constant(-1, tf.int64)),
            sig.ATTENTION: attention * mask_f,
            sig.NUM_SEGMENTS: tf.cast(lengths, tf.int64),
            sig.VIDEO_ID: features[parser.VIDEO_ID],
        }

    def _probabilities_and_attention(self, audio, visual):
        outputs = self._supervised(audio, visual)
        return outputs[sig.PROBABILITIES], outputs[sig.ATTENTION]

    def _per_video(self, audio, visual, lengths, time):
        def one_video(index):
            length = lengths[index]
            probabilities, attention = self._probabilities_and_attention(
                audio[index : index + 1, :length], visual[index : index + 1, :length]
            )
            return _pad_time(probabilities[0], time), _pad_time(attention[0], time)

        return tf.map_fn(
            one_video,
            tf.range(tf.shape(audio)[0]),
            fn_output_signature=(
                tf.TensorSpec([None, schema.NUM_CLASSES], tf.float32),
                tf.TensorSpec([None, schema.VISUAL_CELLS], tf.float32),
            ),
        )

    def _classify(self, inputs):
        examples = tf.io.parse_example(inputs, _CLASSIFY_FEATURES)
        audio_values = tf.RaggedTensor.from_sparse(examples[schema.AUDIO_KEY])
        visual_values = tf.RaggedTensor.from_sparse(examples[schema.VISUAL_KEY])

        def one_video(index):
            audio = tf.reshape(audio_values[index], [1, -1, schema.AUDIO_DIM])
            visual = tf.reshape(visual_values[index], [1, -1, *schema.VISUAL_SHAPE])
            return self._weak(audio, visual)[sig.VIDEO_PROBABILITIES][0]

        scores = tf.map_fn(
            one_video,
            tf.range(tf.shape(inputs)[0]),
            fn_output_signature=tf.TensorSpec([schema.NUM_CLASSES], tf.float32),
        )
        names = tf.constant(self._class_names)
        return {
            sig.CLASSES: tf.tile(names[None], [tf.shape(inputs)[0], 1]),
            sig.SCORES: scores,
        }

    # Cross-modal localization.

    def _embeddings(self, audio, visual):
        with tf.control_dependencies(_check_features(audio, visual)):
            outputs = self._models.cross_modal(
                {sig.AUDIO: audio, sig.VISUAL: visual}, training=False
            )
        return {k: tf.cast(v, tf.float32) for k, v in outputs.items()}

    def _distance(self, audio, visual):
        from ave_tf.evaluation import cross_modal_search

        outputs = self._embeddings(audio, visual)
        pairwise = cross_modal_search.pairwise_distances(
            outputs["audio_embedding"], outputs["visual_embedding"]
        )
        return {
            sig.DISTANCES: outputs["distances"],
            sig.PAIRWISE_DISTANCES: tf.cast(pairwise, tf.float32),
        }

    def _localize(self, audio, visual, query_start, query_length, direction):
        from ave_tf.evaluation import cross_modal_search

        time = tf.shape(audio, out_type=tf.int64)[1]
        checks = [
            tf.debugging.assert_non_negative(query_start, message="query_start must be >= 0"),
            tf.debugging.assert_positive(query_length, message="query_length must be >= 1"),
            tf.debugging.assert_less_equal(
                query_start + query_length, time, message="query window must lie inside [0, T)"
            ),
            tf.debugging.assert_equal(
                tf.shape(query_start, out_type=tf.int64),
                tf.shape(audio, out_type=tf.int64)[:1],
                message="query_start and query_length need one value per video",
            ),
        ]
        with tf.control_dependencies(checks):
            outputs = self._embeddings(audio, visual)
        pairwise = cross_modal_search.pairwise_distances(
            outputs["audio_embedding"], outputs["visual_embedding"]
        )
        # Padded videos (all-zero trailing segments) are searched over their real segments only.
        search_length = None
        if "segment_mask" in outputs:
            search_length = cross_modal_search.segment_lengths(outputs["segment_mask"])
        start = tf.cast(
            cross_modal_search.localize_window(
                pairwise, query_start, query_length, direction, search_length=search_length
            ),
            tf.int64,
        )
        return {sig.START: start, sig.END: start + query_length}

    def _localize_a2v(self, audio, visual, query_start, query_length):
        return self._localize(audio, visual, query_start, query_length, "a2v")

    def _localize_v2a(self, audio, visual, query_start, query_length):
        return self._localize(audio, visual, query_start, query_length, "v2a")
