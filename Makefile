# Every target installs what it needs into its own virtual environment, idempotently.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
LATEST_VENV ?= .venv-latest
CONSTRAINTS ?= constraints.txt
LATEST_CONSTRAINTS ?= constraints-latest.txt
PYTEST_ARGS ?=
# The stamp changes whenever the install inputs change, so `make` reinstalls only then.
STAMP := $(VENV)/.installed-$(shell cat setup.py $(CONSTRAINTS) | md5sum | cut -c1-12)
LATEST_STAMP := $(LATEST_VENV)/.installed-$(shell cat setup.py $(LATEST_CONSTRAINTS) | md5sum | cut -c1-12)
DEMO_DATA ?= tfrecords/ave_synthetic
DEMO_MODEL ?= runs/demo

export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONHASHSEED ?= 0

.PHONY: venv venv-latest test test-slow test-latest lint format demo clean

venv: $(STAMP)
$(STAMP): setup.py $(CONSTRAINTS)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(VENV)/bin/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

venv-latest: $(LATEST_STAMP)
$(LATEST_STAMP): setup.py $(LATEST_CONSTRAINTS)
	test -x $(LATEST_VENV)/bin/python || $(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(LATEST_VENV)/bin/python -m pip install --quiet -c $(LATEST_CONSTRAINTS) -e ".[test]"
	rm -f $(LATEST_VENV)/.installed-*
	touch $@

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

# The same default suite on the newest TensorFlow, where tensorflow-io's native ops do not load.
test-latest: venv-latest
	$(LATEST_VENV)/bin/python -m pytest -m "not slow" -q $(PYTEST_ARGS)

demo: venv
	$(VENV)/bin/python -m ave_tf.demo --data_dir=$(DEMO_DATA) --model_dir=$(DEMO_MODEL) --export_base=export/ave

clean:
	rm -rf $(VENV) $(LATEST_VENV) runs .pytest_cache
