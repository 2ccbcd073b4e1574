# Every target installs what it needs into its own virtual environment, idempotently.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
TFIO_VENV ?= .venv-tfio
JAX_VENV ?= .venv-jax
BEAM_VENV ?= .venv-beam
TORCH_VENV ?= .venv-torch
CONSTRAINTS ?= constraints.txt
TFIO_CONSTRAINTS ?= constraints-tfio.txt
JAX_CONSTRAINTS ?= constraints-jax.txt
BEAM_CONSTRAINTS ?= constraints-beam.txt
PYTEST_ARGS ?=
# The stamp changes whenever the install inputs change, so `make` reinstalls only then.
STAMP := $(VENV)/.installed-$(shell cat setup.py $(CONSTRAINTS) | md5sum | cut -c1-12)
TFIO_STAMP := $(TFIO_VENV)/.installed-$(shell cat setup.py $(TFIO_CONSTRAINTS) | md5sum | cut -c1-12)
JAX_STAMP := $(JAX_VENV)/.installed-$(shell cat setup.py $(JAX_CONSTRAINTS) | md5sum | cut -c1-12)
BEAM_STAMP := $(BEAM_VENV)/.installed-$(shell cat setup.py $(BEAM_CONSTRAINTS) | md5sum | cut -c1-12)
# The tests that need no TensorFlow: the layers and the model builders (keras.ops only).
JAX_TESTS ?= tests/test_layer_*.py tests/test_models_backend_agnostic.py \
	tests/test_model_ed_tcn.py tests/test_cross_modal_model.py tests/test_padding_masks.py \
	tests/test_gpu_jax_script.py
DEMO_DATA ?= tfrecords/ave_synthetic
DEMO_MODEL ?= runs/demo

export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONHASHSEED ?= 0

.PHONY: venv venv-tfio venv-jax venv-beam venv-torch test test-slow test-tfio test-jax test-beam lint format \
	demo tables clean

venv: $(STAMP)
$(STAMP): setup.py $(CONSTRAINTS)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(VENV)/bin/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

# The optional tensorflow-io extra on TF 2.17, the last TensorFlow its native ops load with.
venv-tfio: $(TFIO_STAMP)
$(TFIO_STAMP): setup.py $(TFIO_CONSTRAINTS)
	test -x $(TFIO_VENV)/bin/python || $(PYTHON) -m venv $(TFIO_VENV)
	$(TFIO_VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(TFIO_VENV)/bin/python -m pip install --quiet -c $(TFIO_CONSTRAINTS) -e ".[test,tfio]"
	rm -f $(TFIO_VENV)/.installed-*
	touch $@

# Keras on JAX and no TensorFlow; ave_tf itself without its (TensorFlow) dependencies.
venv-jax: $(JAX_STAMP)
$(JAX_STAMP): setup.py $(JAX_CONSTRAINTS)
	test -x $(JAX_VENV)/bin/python || $(PYTHON) -m venv $(JAX_VENV)
	$(JAX_VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(JAX_VENV)/bin/python -m pip install --quiet -c $(JAX_CONSTRAINTS) \
		"jax[cpu]" jaxlib keras numpy h5py pytest absl-py pyyaml
	$(JAX_VENV)/bin/python -m pip install --quiet --no-deps -e .
	! $(JAX_VENV)/bin/python -c "import tensorflow" 2>/dev/null
	rm -f $(JAX_VENV)/.installed-*
	touch $@

# The Beam extra on the default TensorFlow with the protobuf, pillow and dateutil Beam accepts.
venv-beam: $(BEAM_STAMP)
$(BEAM_STAMP): setup.py $(BEAM_CONSTRAINTS)
	test -x $(BEAM_VENV)/bin/python || $(PYTHON) -m venv $(BEAM_VENV)
	$(BEAM_VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BEAM_VENV)/bin/python -m pip install --quiet -c $(BEAM_CONSTRAINTS) -e ".[test,beam]"
	$(BEAM_VENV)/bin/python -c "import apache_beam"  # else the beam tests would only skip
	rm -f $(BEAM_VENV)/.installed-*
	touch $@

# Benchmarks only: PyTorch (the CPU wheel) for running the authors' code beside ours
# (benchmarks/authors_speed.py, make_*fixtures*.py). Never a dependency of ave_tf or its tests.
venv-torch:
	test -x $(TORCH_VENV)/bin/python || $(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet torch==2.13.0 numpy h5py scikit-learn \
		pyyaml "ruamel.yaml<0.18" tensorboardX tqdm  # CMBS and CACE-Net call yaml.load(Loader=...)

lint: venv
	$(VENV)/bin/ruff check ave_tf tests benchmarks setup.py
	$(VENV)/bin/ruff format --check ave_tf tests benchmarks setup.py

format: venv
	$(VENV)/bin/ruff format ave_tf tests benchmarks setup.py
	$(VENV)/bin/ruff check --fix ave_tf tests benchmarks setup.py

test: venv lint
	$(VENV)/bin/python -m pytest -m "not slow" -q $(PYTEST_ARGS)

test-slow: venv
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# The same default suite with tensorflow-io's native ops loaded (TF 2.17): its resampler and
# file systems.
test-tfio: venv-tfio
	$(TFIO_VENV)/bin/python -m pytest -m "not slow" -q $(PYTEST_ARGS)

# The layers and model builders under KERAS_BACKEND=jax, in a virtual environment without
# TensorFlow (what timing the models on a machine without TensorFlow needs). The tests run
# hundreds of small programs once each: XLA's cheaper CPU compilation makes them ~1.6x faster.
JAX_XLA_FLAGS ?= --xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true
test-jax: venv-jax
	KERAS_BACKEND=jax JAX_PLATFORMS=cpu XLA_FLAGS="$(JAX_XLA_FLAGS)" \
		$(JAX_VENV)/bin/python -m pytest -m "not slow" -q $(PYTEST_ARGS) $(JAX_TESTS)

# The tests marked `beam` (the extraction pipeline on Beam's DirectRunner, in this process and
# in worker processes as a cluster runs it); `make test` skips them without apache-beam.
test-beam: venv-beam
	$(BEAM_VENV)/bin/python -m pytest -m beam -q $(PYTEST_ARGS)

demo: venv
	$(VENV)/bin/python -m ave_tf.demo --data_dir=$(DEMO_DATA) --model_dir=$(DEMO_MODEL) --export_base=export/ave

# The README's result tables: every paper-table experiment and the model zoo with 3 seeds on the
# embedded default (hours on 2 cores). The results kept in git under results/paper_tables are
# reused while their fingerprint matches, so only missing or stale runs train.
TABLES_DIR ?= results/paper_tables
TABLES_FLAGS ?= --seeds=0,1,2 --epochs=10 --tables=table1,table2,ed_tcn,table3,zoo
tables: venv
	test -f $(DEMO_DATA)/dataset.json || $(VENV)/bin/python -m ave_tf.bin.ave_synth --output_dir=$(DEMO_DATA)
	$(VENV)/bin/python -m ave_tf.experiments.run_paper_tables --data_dir=$(DEMO_DATA) \
		--output_dir=$(TABLES_DIR) $(TABLES_FLAGS) --write_into=README.md

clean:
	rm -rf $(VENV) $(TFIO_VENV) $(JAX_VENV) $(BEAM_VENV) $(TORCH_VENV) runs .pytest_cache
