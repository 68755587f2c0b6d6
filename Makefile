# Every target bootstraps what it needs: uv inside .venv, then the pinned lock file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed

.PHONY: install lock semconv semconv-check lint typecheck test demo bench clean

install: $(STAMP)

# Debian's python3 may lack ensurepip (python3-venv); then uv makes the venv instead.
$(BIN)/uv:
	$(PYTHON) -m venv $(VENV) || { $(PYTHON) -m pip install --quiet --user "uv==$(UV_VERSION)" && $(PYTHON) -m uv venv --seed $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(BIN)/uv requirements/lock.txt pyproject.toml setup.py $(wildcard src/agenttrace/*/*.c)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/lock.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Re-pin every dependency, all extras included, for Python 3.11.
lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 --quiet -o requirements/lock.txt

semconv: install
	$(BIN)/python semconv/generate.py

semconv-check: install
	$(BIN)/python semconv/generate.py --check

lint: install
	$(BIN)/ruff check src tests bench semconv
	$(BIN)/ruff format --check src tests bench semconv

typecheck: install
	$(BIN)/mypy --strict src/agenttrace

test: install lint typecheck semconv-check
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/python -m agenttrace.demo

bench: install
	$(BIN)/python bench/run_all.py $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
