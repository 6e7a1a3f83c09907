# lht: two commands from a fresh clone.
#   make demo       the main job on the embedded defaults (local org -> lht sync -> dbt build on DuckDB)
#   make test       the whole test suite (what CI runs)
#   make test-fast  the tests that are neither end to end nor slow, while working
#   make lint       ruff (lint and format check) and mypy, as configured in pyproject.toml
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lht-installed
DEV    := $(VENV)/.lht-dev-installed

.PHONY: demo test test-fast lint bench install browser clean help

help:
	@echo "make demo       run lht against the bundled local Salesforce org into DuckDB"
	@echo "make test       run the test suite"
	@echo "make test-fast  run the fast tests (no end-to-end or slow ones)"
	@echo "make lint       run ruff (lint, format check) and mypy"
	@echo "make bench      run the benchmarks (minutes; prints figures)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the demo installs what it runs: lht and the local org (devorg/, distribution lht-devorg,
# first, so lht's `devorg` extra finds it here); the tests and benchmarks add the dev extras
$(STAMP): pyproject.toml devorg/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ./devorg
	$(BIN)/python -m pip install --quiet -e ".[devorg]"
	@touch $(STAMP)

$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,devorg]"
	@touch $(DEV)

install: $(DEV)

demo: $(STAMP)
	$(BIN)/python -m lht.commands.demo

# Debian's chromium: the test of `lht report` opens the page in a real (headless) browser.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the report's browser test (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || { \
	  echo "make test needs Debian's chromium: apt-get install chromium (as root)" >&2; exit 1; }

# three workers on two cores: many tests wait on a subprocess or the local org; worksteal
# keeps every worker busy to the end (the slow tests are ordered first, tests/conftest.py)
PYTEST := $(BIN)/python -m pytest -q -n 3 --dist worksteal

test: $(DEV) browser
	$(PYTEST) --durations=25 $(PYTEST_ARGS)

test-fast: $(DEV)
	$(PYTEST) -m "not e2e and not slow" $(PYTEST_ARGS)

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(DEV)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf .lht lht.duckdb lht-report.html dbt_project/target dbt_project/logs logs
