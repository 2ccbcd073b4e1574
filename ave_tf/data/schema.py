"""The TFRecord schema: one `tf.train.SequenceExample` per video (YouTube-8M frame-level style).

Context features describe the video; one feature-list entry per 1-s segment carries the audio
embedding, the visual feature map and the segment label. Every reader and writer of records
uses these constants, so the schema lives in exactly one place.
"""

SCHEMA_VERSION = 1

NUM_EVENT_CLASSES = 28
BACKGROUND_CLASS = 28  # the 29th class: no audio-visual event in the segment
NUM_CLASSES = NUM_EVENT_CLASSES + 1
NUM_SEGMENTS = 10  # AVE videos are 10 s long; records may hold any number of segments

AUDIO_DIM = 128  # VGGish embedding
VISUAL_HEIGHT = 7  # VGG-19 pool5 grid
VISUAL_WIDTH = 7
VISUAL_CHANNELS = 512
VISUAL_CELLS = VISUAL_HEIGHT * VISUAL_WIDTH
VISUAL_SHAPE = (VISUAL_HEIGHT, VISUAL_WIDTH, VISUAL_CHANNELS)
VISUAL_DIM = VISUAL_CELLS * VISUAL_CHANNELS

# Context keys.
VIDEO_ID_KEY = "video_id"
CLASS_INDEX_KEY = "class_index"  # video-level class; BACKGROUND_CLASS for background-only videos
CLASS_NAME_KEY = "class_name"
EVENT_START_KEY = "event_start"  # event covers segments [start, end)
EVENT_END_KEY = "event_end"
SOURCE_KEY = "source"  # "ave_release", "synthetic", "extracted", ...
ANNOTATION_INDEX_KEY = "annotation_index"  # row of Annotations.txt, -1 when not from AVE
NUM_SEGMENTS_KEY = "num_segments"

# Feature-list keys. Visual maps are stored either as float32 lists or as raw little-endian
# float16 bytes (half the disk); reading always yields float32.
AUDIO_KEY = "audio"
VISUAL_KEY = "visual"
VISUAL_F16_KEY = "visual_f16"
LABEL_KEY = "label"

VISUAL_DTYPES = ("float32", "float16")

# Split names of the dataset directory.
SPLITS = ("train", "val", "test")
NOISY_SPLIT = "train_noisy"
MATCH_SPLITS = ("train_match", "val_match", "test_match")
ALL_SPLITS = SPLITS + (NOISY_SPLIT,) + MATCH_SPLITS

DATASET_INFO_FILE = "dataset.json"
SHARD_PATTERN = "{split}-{index:05d}-of-{count:05d}.tfrecord"
