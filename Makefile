# The two commands a fresh machine needs: `make run` and `make test`. Everything else is for us.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints.txt
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS)

.PHONY: run test bench lint typecheck clean screenshots

# In a terminal: the console on the demo; piped or redirected, one line per event.
ARGS ?= demo

run: $(VENV)/.installed
	$(BIN)/wave $(ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check wave_tui tests bench
	$(BIN)/ruff format --check wave_tui tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Measurements, not tests: prints the tables and writes docs/benchmarks.md.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

# The console's four main screens from a real demo run, as SVG and PNG in screenshots/.
screenshots: $(VENV)/.installed-dev
	$(BIN)/python scripts/screenshots.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix wave_tui tests
	$(BIN)/ruff format wave_tui tests

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "wave_tui needs Python 3.11 or newer: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e '.[dev]'
	@touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
