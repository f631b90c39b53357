# Two commands on a fresh machine:  `make demo` (install, train, serve)  and  `make test`.
#
# Which Python environment: the one you have activated (a conda env such as the course's
# `movierec`, or a virtualenv), else .venv/ in this folder, which `make install` creates.
# Which Python creates .venv: the first of python3, python3.11, python3.12, python3.13 that is
# 3.11 to 3.13; choose another with PYTHON=/path/to/python3.x.

ACTIVE_ENV := $(or $(VIRTUAL_ENV),$(if $(filter-out base,$(CONDA_DEFAULT_ENV)),$(CONDA_PREFIX)))
VENV   ?= $(or $(ACTIVE_ENV),.venv)
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PYTHON ?= $(shell for p in python3 python3.11 python3.12 python3.13; do \
            $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info < (3, 14))' 2>/dev/null \
            && { echo $$p; break; }; done)
MODEL  ?= models/default
PORT   ?= 5000
# The API keys that may start training jobs (lecture 6): outside the repository, yours alone.
API_KEY_FILE ?= $(HOME)/.config/movierec/api-keys
# PyTorch's CPU-only wheels: PyPI's Linux torch is a multi-GB CUDA build we don't need.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: help install install-dev venv demo train retrain serve worker api-key test test-fast \
        check-pins lint format mlflow-server mlflow-serve bench clean grade mar torchserve image \
        bench-image site site-serve

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install: $(VENV)/.movierec-installed  ## install the course's pinned packages and movierec (pip install -e .)

install-dev: $(VENV)/.movierec-dev-installed  ## add the suite's and the later lectures' extras (requirements-dev.txt)

# Re-runs only when requirements.txt or pyproject.toml changes. torch comes alone first, from
# the CPU index when it answers; its dependencies come from PyPI with everything else.
$(VENV)/.movierec-installed: requirements.txt pyproject.toml
	@if [ ! -x $(PY) ]; then $(MAKE) --no-print-directory venv; fi
	@if ! $(PY) -c "import torch" 2>/dev/null; then \
	  if $(PY) -c "import urllib.request as u; u.urlopen('$(TORCH_INDEX)/torch/', timeout=5)" \
	      2>/dev/null; then \
	    $(PIP) install --no-deps --index-url $(TORCH_INDEX) torch==2.13.0; \
	  else \
	    echo "PyTorch's CPU index does not answer: installing torch==2.13.0 from pip's sources"; \
	    $(PIP) install --no-deps torch==2.13.0; \
	  fi; \
	fi
	$(PIP) install -r requirements.txt -e .
	touch $@

# The students' environment stays lean: what only the test suite, the benchmarks, the website
# and later lectures need (Spark, TorchServe, Sphinx, Surprise, ...) comes with `make test`.
$(VENV)/.movierec-dev-installed: $(VENV)/.movierec-installed requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

# A new .venv, from a supported Python, with a message that says what to install when it fails.
venv:
	@test -n "$(PYTHON)" || { echo "error: no Python 3.11 to 3.13 found. Install one (Debian/Ubuntu: \
	sudo apt install python3 python3-venv; macOS: brew install python@3.12), or point PYTHON= at it."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info < (3, 14))' || { \
	  echo "error: $(PYTHON) is Python $$($(PYTHON) -V 2>&1 | cut -d' ' -f2); the course needs 3.11 to 3.13: \
	install one, or give PYTHON=python3.12 (or another)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "error: $(PYTHON) could not create $(VENV). On Debian and \
	Ubuntu the venv module is a package of its own: sudo apt install python3-venv (or python3.12-venv)"; exit 1; }

demo: train serve  ## install, train on the default data, then serve it on http://127.0.0.1:5000

train: $(MODEL)/metadata.json  ## train the default model into models/default (once)

$(MODEL)/metadata.json: $(VENV)/.movierec-installed
	$(PY) -m movierec train --out $(MODEL)

retrain: $(VENV)/.movierec-installed  ## train models/default again (e.g. once ML-100K is downloaded)
	$(PY) -m movierec train --out $(MODEL)

serve: $(VENV)/.movierec-installed  ## serve models/default with gunicorn on 127.0.0.1:5000, or PORT=... (Ctrl-C stops)
	@$(PY) -m movierec info --model $(MODEL)
	@echo "serving it on http://127.0.0.1:$(PORT) (the page: /, the API: /health, /recommend ...)"
	PORT=$(PORT) MOVIEREC_MODEL=$(MODEL) MOVIEREC_API_KEY_FILE=$(API_KEY_FILE) \
		$(VENV)/bin/gunicorn -c flask_app/gunicorn.conf.py "flask_app:create_app()"

# --- lecture 6: training as a service -----------------------------------------------------------

worker: $(VENV)/.movierec-installed  ## the training worker: runs the jobs of POST /train, one at a time (Ctrl-C stops)
	$(PY) -m training_service.worker

api-key:  ## add a new random API key to ~/.config/movierec/api-keys (or API_KEY_FILE=...) and print it
	@mkdir -p "$(dir $(API_KEY_FILE))"
	@umask 077 && $(or $(wildcard $(PY)),python3) -c "import secrets; print(secrets.token_urlsafe(32))" \
		| tee -a "$(API_KEY_FILE)"
	@echo "(added to $(API_KEY_FILE); the API reads it at start: MOVIEREC_API_KEY_FILE=$(API_KEY_FILE))" >&2

test: $(VENV)/.movierec-dev-installed  ## the whole test suite, end-to-end tests included (what CI runs)
	$(PY) -m pytest --durations=25

test-fast: $(VENV)/.movierec-dev-installed  ## the suite without the slow end-to-end tests
	$(PY) -m pytest -m "not slow"

check-pins:  ## check that every pin but torch resolves on Python 3.12 and 3.13 (asks PyPI)
	bash .ci/check_pins.sh

lint: $(VENV)/.movierec-dev-installed  ## ruff: lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.movierec-dev-installed  ## ruff: fix what can be fixed and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

grade: $(VENV)/.movierec-installed  ## grade SUBMISSIONS="a/ b.zip ..." into RESULTS (default results/)
	$(PY) -m grading grade $(SUBMISSIONS) --out $(or $(RESULTS),results)

mlflow-server: $(VENV)/.movierec-installed  ## MLflow tracking server on 127.0.0.1:5001 (state in mlflow/)
	PATH="$(abspath $(VENV))/bin:$$PATH" mlflow/start_tracking_server.sh

mlflow-serve: $(VENV)/.movierec-installed  ## serve models:/movie-recommender@champion on 127.0.0.1:5002
	PATH="$(abspath $(VENV))/bin:$$PATH" mlflow/serve_champion.sh

# --- the course website -------------------------------------------------------------------------

site: $(VENV)/.movierec-dev-installed  ## the course as a website in build/site/html: notebooks run, every link checked (needs linkchecker)
	$(PY) -m website

site-serve: $(VENV)/.movierec-dev-installed  ## show the built site on http://127.0.0.1:8000/ (Ctrl-C stops)
	$(PY) -m website.serve --port 8000

# --- lecture 5: TorchServe and the container image ---------------------------------------------

mar: $(VENV)/.movierec-dev-installed  ## pack MODEL (models/default) into model-store/movierec.mar for TorchServe
	$(PY) -m deploy.torchserve.archive $(MODEL) model-store

torchserve: $(VENV)/.movierec-dev-installed  ## serve model-store/movierec.mar with TorchServe on 127.0.0.1:8080 (needs Java 17)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/torchserve --start --foreground --ncs \
		--ts-config deploy/torchserve/config.properties --model-store model-store --models movierec=movierec.mar

# podman if installed (no daemon needed), else docker. A base image or a torch index of your own:
# make image BASE_IMAGE=... TORCH_INDEX=...; extra flags for the engine: IMAGE_BUILD_FLAGS=...
CONTAINER_ENGINE ?= $(or $(shell command -v podman 2>/dev/null),$(shell command -v docker 2>/dev/null),docker)
IMAGE ?= movierec-api

image:  ## build the container image movierec-api from the Dockerfile (minutes, about 1 GB)
	$(CONTAINER_ENGINE) build $(if $(findstring podman,$(CONTAINER_ENGINE)),--format docker) \
		$(IMAGE_BUILD_FLAGS) $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) \
		--build-arg TORCH_INDEX=$(TORCH_INDEX) -t $(IMAGE) .

bench: $(VENV)/.movierec-dev-installed  ## every benchmark, on real ML-100K (MOVIEREC_DATA_DIR: its parent folder)
	$(PY) bench/train_quality.py
	$(PY) bench/notebooks_time.py
	$(PY) bench/serve_load.py
	$(PY) bench/serve_mlflow_vs_flask.py
	$(PY) bench/serve_compare.py
	$(PY) bench/store_mode.py
	$(PY) bench/spark_vs_torch.py

clean:  ## remove the default model, caches and outputs (keeps your other models, .venv and data/)
	rm -rf $(MODEL) $(MODEL).versions .pytest_cache .ruff_cache notebooks/artifacts bench/results build
