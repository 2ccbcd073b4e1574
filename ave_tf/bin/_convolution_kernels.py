"""Imported first by the binaries that run VGG-19 and VGGish (ave_extract, ave_localize).

TensorFlow turns oneDNN on by default only on CPUs with AVX-512 VNNI/AMX; on AVX2/FMA cores it
runs Eigen, whose convolutions reach 100 GFLOP/s for VGG-19 where oneDNN's reach 130 (82% of the
best GEMM there; benchmarks/vgg19_peak_benchmark.py). Training stays on TensorFlow's default:
there Eigen's weight gradients are the faster ones. TensorFlow reads the variable once, when it
is imported, so this module must be imported before it; export TF_ENABLE_ONEDNN_OPTS=0 to keep
Eigen.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
