"""From raw video to AVE segment features (Sec. 6.1 of the paper).

Data flows: `video_decoding` (PyAV: sampled RGB frames and 16 kHz mono audio per 1-s segment)
-> `visual_features` (Keras VGG-19 pool5, averaged over the frames of a segment) and
`log_mel` + `vggish` + `audio_features` (VGGish log-mel front end in TF ops, VGGish in Keras,
optional PCA in `vggish_postprocess`) -> `extraction` (one video) -> `dataset_extraction`
(many videos -> TFRecord shards, resumable through `feature_cache`; `beam_pipeline` for a
cluster) and `localization` + `timeline_plot` (`ave_localize`). Weight files are provided by
the user (`weight_files`; `convert_vggish` converts the VGGish checkpoint); nothing is
downloaded at run time.
"""
