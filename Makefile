# The two commands of the README are `make run` and `make test`.
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: setup setup-test services run test lint typecheck jscheck pytest bench format clean

setup:
	scripts/setup

setup-test:
	scripts/setup --test

# Development: a demo login and invite on first start, the API docs at /docs.
run: setup
	TELEHEALTH_ENV=$${TELEHEALTH_ENV:-development} $(VENV)/telehealth serve

test: setup-test services lint typecheck jscheck pytest

# The local PostgreSQL and Redis the storage and multi-process tests use (tests/services.py).
services:
	scripts/test-services

lint:
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck:
	$(VENV)/mypy --strict telehealth voice signaling

# The shared browser modules' JSDoc types (tsconfig.json); tsc only checks, nothing is built.
jscheck:
	node_modules/.bin/tsc --project tsconfig.json --noEmit --allowJs --checkJs

# pytest exits 5 when it collected nothing; make treats that as the failure it is.
pytest:
	$(VENV)/pytest $(PYTEST_ARGS)

# Every benchmark, after the setup they need (the test tools: psutil, test speech); each
# prints its JSON line. Figures and targets: docs/benchmarks.md.
bench: setup-test
	scripts/bench

format:
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache
