"""ave_tf: audio-visual event localization (Tian et al., ECCV 2018) in TensorFlow/Keras."""

from setuptools import find_packages, setup

# Console scripts of the public contract; each is a thin absl binary in ave_tf/bin.
CONSOLE_SCRIPTS = [
    "ave_synth=ave_tf.bin.ave_synth:run",
    "ave_convert=ave_tf.bin.ave_convert:run",
    "ave_train=ave_tf.bin.ave_train:run",
    "ave_eval=ave_tf.bin.ave_eval:run",
    "ave_export=ave_tf.bin.ave_export:run",
    "ave_serve=ave_tf.bin.ave_serve:run",
    "ave_query=ave_tf.bin.ave_query:run",
    "ave_extract=ave_tf.bin.ave_extract:run",
    "ave_localize=ave_tf.bin.ave_localize:run",
]

setup(
    name="ave_tf",
    version="0.1.0",
    description="Audio-visual event localization in unconstrained videos (TensorFlow/Keras).",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["ave_tf", "ave_tf.*"]),
    package_data={"ave_tf.data": ["ave_meta/*.txt", "ave_meta/*.h5"]},
    include_package_data=True,
    install_requires=[
        "tensorflow>=2.16",
        "tensorflow-serving-api>=2.16",
        "tensorboard>=2.16",
        "keras>=3.3",
        "absl-py",
        # Experiment configs (--config_file, --params_override, model_dir/params.yaml).
        "pyyaml",
        "numpy",
        "h5py",
        "av",
        "pillow",
        "matplotlib",
    ],
    extras_require={
        "test": ["pytest", "ruff"],
        "gpu": ["tensorflow[and-cuda]"],
        # Optional: the Apache Beam extraction pipeline (ave_tf/features/beam_pipeline.py).
        "beam": ["apache-beam[tfrecord]"],
        # Optional, unmaintained: S3/HDFS/Azure/HTTP file systems and its audio resampler.
        # Its native ops load with TF 2.16/2.17 only (constraints-tfio.txt); elsewhere ave_tf
        # says why a feature is unavailable (ave_tf/utils/tfio_compat.py).
        "tfio": ["tensorflow-io>=0.37"],
    },
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
)
