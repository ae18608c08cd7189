# Every target creates the virtual environments it needs (tools/venvs.py, pins in
# tools/pins.toml) and reuses them on the next run.
SHELL := /bin/bash
PYTHON ?= python3
VENV = $(PYTHON) tools/venvs.py

.PHONY: test lint test-blender50 test-blender42 server demo

## make test: lint, type-check, then the whole suite on Blender 5.0 and on 4.2 LTS
test: lint test-blender50 test-blender42

lint:
	@py=$$($(VENV) lint) && \
	  $$py -m ruff check . && \
	  $$py -m ruff format --check . && \
	  $$py -m mypy veo_addon

test-blender50:
	@py=$$($(VENV) blender50) && $$py -m pytest $(PYTEST_ARGS)

test-blender42:
	@py=$$($(VENV) blender42) && $$py -m pytest $(PYTEST_ARGS)

## make server: the local Highway API server in the foreground (PORT=, GEN_SECONDS=, FAULTS=)
server:
	@py=$$($(VENV) blender50) && $$py -m localserver

## make demo: the headless job end to end against the local server
demo:
	@py=$$($(VENV) blender50) && $$py tools/demo.py
