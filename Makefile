# Two commands for a newcomer: `make run` and `make test`. Both install what they need into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean chromium

run: $(STAMP)
	$(BIN)/comments dev

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "installing wrk (load generator)"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m tests.bench.intake
	$(BIN)/python -m tests.bench.workers
	$(BIN)/python -m tests.bench.mixed
	$(BIN)/comments spam bench

# The widget tests drive a real headless Chromium: Debian's package, not a Playwright download.
chromium:
	@command -v chromium >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium (widget tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "the widget tests need Chromium: apt-get install chromium" >&2; exit 1; fi; }

# Debian's python3 ships without venv/ensurepip until python3-venv is installed.
$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (Debian/Ubuntu) and retry" >&2; exit 1; fi; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
