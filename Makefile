# Two commands on a fresh machine:  `make demo` (install, train, serve)  and  `make test`.
# Everything runs from the project's own virtual environment in .venv/.

VENV  ?= .venv
PY    := $(VENV)/bin/python
PIP   := $(PY) -m pip
MODEL ?= models/default
# PyTorch's CPU-only wheels: PyPI's Linux torch is a multi-GB CUDA build we don't need.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: help install demo train serve test test-fast lint format mlflow-server mlflow-serve bench clean grade

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install: $(VENV)/.installed  ## create .venv with the pinned packages and movierec (pip install -e .)

# Re-runs only when a requirements file or pyproject.toml changes. torch comes alone first, from
# the CPU index (when that is unreachable, pip falls back to what it finds elsewhere); its
# dependencies come from PyPI with everything else.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install --no-deps --retries 2 \
		--index-url $(TORCH_INDEX) torch==2.13.0 || $(PIP) install --no-deps torch==2.13.0
	$(PIP) install -r requirements-dev.txt -e .
	touch $@

demo: train serve  ## install, train on the default data, then serve it on http://127.0.0.1:5000

train: $(MODEL)/metadata.json  ## train the default model into models/default (once)

$(MODEL)/metadata.json: $(VENV)/.installed
	$(PY) -m movierec train --out $(MODEL)

serve: $(VENV)/.installed  ## serve models/default with gunicorn on 127.0.0.1:5000 (Ctrl-C stops)
	MOVIEREC_MODEL=$(MODEL) $(VENV)/bin/gunicorn -c flask_app/gunicorn.conf.py "flask_app:create_app()"

test: $(VENV)/.installed  ## the whole test suite, end-to-end tests included (what CI runs)
	$(PY) -m pytest

test-fast: $(VENV)/.installed  ## the suite without the slow end-to-end tests
	$(PY) -m pytest -m "not slow"

lint: $(VENV)/.installed  ## ruff: lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed  ## ruff: fix what can be fixed and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

grade: $(VENV)/.installed  ## grade SUBMISSIONS="a/ b.zip ..." into RESULTS (default results/)
	$(PY) -m grading grade $(SUBMISSIONS) --out $(or $(RESULTS),results)

mlflow-server: $(VENV)/.installed  ## MLflow tracking server on 127.0.0.1:5001 (state in mlflow/)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" mlflow/start_tracking_server.sh

mlflow-serve: $(VENV)/.installed  ## serve models:/movie-recommender@champion on 127.0.0.1:5002
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" mlflow/serve_champion.sh

bench: $(VENV)/.installed  ## every benchmark, on real ML-100K (MOVIEREC_DATA_DIR: its parent folder)
	$(PY) bench/train_quality.py
	$(PY) bench/notebooks_time.py
	$(PY) bench/serve_load.py
	$(PY) bench/serve_mlflow_vs_flask.py

clean:  ## remove trained models and caches (keeps .venv and data/)
	rm -rf models .pytest_cache .ruff_cache notebooks/artifacts bench/results
