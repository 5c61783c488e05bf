# Two commands for a newcomer: `make run` and `make test`. Both install what they need into .venv,
# from requirements-dev.lock (exact versions with hashes); `make lock` refreshes the locks.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench lock clean chromium

run: $(STAMP)
	$(BIN)/comments dev

test: $(STAMP) chromium lint
	$(BIN)/pytest -n 2 --dist worksteal

# Style, types, the layering contracts (service/core < queueing < store < web | workers < entry)
# and the widget's JavaScript.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/biome check service/web/static

bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "installing wrk (load generator)"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	@command -v valgrind >/dev/null || { echo "installing valgrind (instruction counts)"; apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
	$(BIN)/python -m tests.bench.instructions
	$(BIN)/python -m tests.bench.intake
	$(BIN)/python -m tests.bench.replicas
	$(BIN)/python -m tests.bench.memory
	$(BIN)/python -m tests.bench.workers
	$(BIN)/python -m tests.bench.mixed
	$(BIN)/python -m tests.bench.pow
	$(BIN)/python -m tests.bench.imports
	$(BIN)/python -m tests.bench.pages
	$(BIN)/python -m tests.bench.markdown
	$(BIN)/python -m tests.bench.workspace
	$(BIN)/python -m tests.bench.stream
	$(BIN)/python -m tests.bench.widget
	$(BIN)/comments spam bench

# After changing dependencies in pyproject.toml: resolve them again, for every platform, with
# hashes. requirements.lock is what the Docker image installs; requirements-dev.lock adds the
# test and lint tools.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 \
	  --upgrade -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.11 --upgrade -o requirements-dev.lock

# The widget tests drive a real headless Chromium: Debian's package, not a Playwright download.
chromium:
	@command -v chromium >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium (widget tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "the widget tests need Chromium: apt-get install chromium" >&2; exit 1; fi; }

# Debian's python3 ships without venv/ensurepip until python3-venv is installed.
$(STAMP): pyproject.toml requirements-dev.lock
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (Debian/Ubuntu) and retry" >&2; exit 1; fi; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
