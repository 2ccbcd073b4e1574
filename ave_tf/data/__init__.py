"""Data layer: record schema, the one parser, tf.data pipeline, shard writer, AVE readers."""
