# Kvorum — `make demo` to try it, `make test` to prove it, `make check` before committing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo demo-reset test check format bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Kvorum needs Python 3.11 or newer: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

## Install into .venv, start the embedded PostgreSQL and serve the demo council on http://localhost:8000
demo: $(VENV)/.installed
	$(BIN)/kvorum demo

## The demo council afresh: erase its data (never a real council's) and serve it again
demo-reset: $(VENV)/.installed
	$(BIN)/kvorum demo --reset

## Install the test extras and run the whole suite (uses KVORUM_TEST_DATABASE_URL if set, else a private PostgreSQL)
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

## Format check, lint and strict typing
check: $(VENV)/.installed-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks print their own baseline and ratio
bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.ballots

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
