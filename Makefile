# Two entry points for a fresh machine with python3 and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test lint typecheck unit bench browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/apiflow run --sandbox flows/bigcommerce

lint: $(STAMP_TEST)
	$(BIN)/ruff check runner tests bench
	$(BIN)/ruff format --check runner tests bench

typecheck: $(STAMP_TEST)
	$(BIN)/mypy runner

# The HTML report test looks at the page in Debian's Chromium; install it where it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the HTML report test"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

unit: $(STAMP_TEST) browser
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP_TEST)
	$(BIN)/python bench/flow_overhead.py
	$(BIN)/python bench/concurrent_checkouts.py
	$(BIN)/python bench/load_overhead.py
	$(BIN)/python bench/transports.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .coverage
