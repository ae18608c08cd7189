# Every target creates the virtual environments it needs (tools/venvs.py, pins in
# tools/pins.toml) and reuses them on the next run.
SHELL := /bin/bash
PYTHON ?= python3
VENV = $(PYTHON) tools/venvs.py

.PHONY: test lint test-blender50 test-blender42 test-window server demo docs build bench

## make test: lint, type-check, the whole suite on Blender 5.0 and on 4.2 LTS, then the window tests
test: lint test-blender50 test-blender42 test-window

lint:
	@py=$$($(VENV) lint) && \
	  $$py -m ruff check . && \
	  $$py -m ruff format --check . && \
	  $$py -m mypy veo_addon

test-blender50:
	@py=$$($(VENV) blender50) && $$py -m pytest $(PYTEST_ARGS)

test-blender42:
	@py=$$($(VENV) blender42) && $$py -m pytest $(PYTEST_ARGS)

## make test-window: Debian's Blender 4.3 in a real Xvfb window (root; builds its chroot once, docs/testing.md)
test-window:
	@py=$$($(VENV) blender50) && VEO_WINDOW_TESTS=1 $$py -m pytest tests/window $(PYTEST_ARGS)

## make server: the local Highway API server in the foreground (PORT=, GEN_SECONDS=, FAULTS=)
server:
	@py=$$($(VENV) blender50) && $$py -m localserver

## make demo: the headless job end to end against the local server
demo:
	@py=$$($(VENV) blender50) && $$py tools/demo.py

## make docs: regenerate docs/troubleshooting.md from the messages in the code
docs:
	@py=$$($(VENV) lint) && $$py tools/messages.py

## make build: one validated extension zip per platform with its wheels, and dist/repo/index.json
build:
	@$(PYTHON) tools/build.py

## make bench: the performance figures (not part of make test): bench/results.json, docs/performance.md
bench:
	@py50=$$($(VENV) blender50) && py42=$$($(VENV) blender42) && \
	  $$py50 tools/bench/run.py --python50 $$py50 --python42 $$py42 $(BENCH_ARGS)
