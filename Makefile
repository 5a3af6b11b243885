# Everything runs from .venv, built from the committed uv.lock with nothing but python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_NO_PROGRESS := 1

.PHONY: all demo test check lint format typecheck unit bench chaos clean lock mutate

all: test

$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "toolware needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv sync --frozen --extra cli --extra redis --group bench --python $(BIN)/python
	@touch $@

demo: $(STAMP)
	$(BIN)/toolware demo

test: check

check: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks chaos examples compat
	$(BIN)/ruff check src tests benchmarks chaos examples compat

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks chaos examples compat
	$(BIN)/ruff check --fix src tests benchmarks chaos examples compat

bench: $(STAMP)
	$(BIN)/python benchmarks/contexts.py
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/inflight.py
	$(BIN)/python benchmarks/workers.py
	$(BIN)/python benchmarks/streaming.py
	$(BIN)/python benchmarks/resilience.py
	$(BIN)/python benchmarks/redis_limiter.py
	$(BIN)/python benchmarks/state_memory.py
	$(BIN)/python benchmarks/tracing.py
	$(BIN)/python benchmarks/metrics.py
	$(BIN)/python benchmarks/debug_profile.py
	$(BIN)/python benchmarks/tool_calls.py
	$(BIN)/python benchmarks/mcp_server.py
	$(BIN)/python benchmarks/mcp_client.py
	$(BIN)/python benchmarks/frameworks.py
	$(BIN)/python benchmarks/v1_compat.py

# Real processes, a real redis-server (installed separately), faults on purpose: exits non-zero
# when an invariant fails (1) or a scenario could not run (2). One scenario:
# make chaos SCENARIOS=flaky_tool
SCENARIOS ?=
chaos: $(STAMP)
	$(BIN)/python chaos/run.py $(SCENARIOS)

# Mutation testing of the core modules ([tool.mutmut] in pyproject.toml); slow, not in `test`.
# MUTANTS narrows the run, e.g. make mutate MUTANTS='toolware._deadlines*'; survivors that are
# equivalent to the original go to mutants-accepted.md with a reason.
MUTANTS ?=
# --timeout=10: a mutant that makes a stream or a call hang is cut short (and counts as killed)
# instead of waiting out the suite's 60 s per test.
mutate: $(STAMP)
	PYTEST_ADDOPTS="--timeout=10" $(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results

lock: $(STAMP)
	$(BIN)/uv lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov mutants

# The redis-server the Redis state tests start (tests/redis_support.py); without it they are
# skipped locally (with a note at the end of the run) and fail under CI=true. Debian/Ubuntu.
.PHONY: redis-server
redis-server:
	@if command -v redis-server >/dev/null 2>&1 || [ -x /usr/sbin/redis-server ] || [ -x /usr/bin/redis-server ]; then \
		echo "redis-server is installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server; \
	else \
		sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends redis-server; \
	fi
