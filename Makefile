# The two commands of the README are `make run` and `make test`.
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: setup setup-test run test lint typecheck pytest bench format clean

setup:
	scripts/setup

setup-test:
	scripts/setup --test

# Development: a demo login and invite on first start, the API docs at /docs.
run: setup
	TELEHEALTH_ENV=$${TELEHEALTH_ENV:-development} $(VENV)/telehealth serve

test: setup-test lint typecheck pytest

lint:
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck:
	$(VENV)/mypy --strict telehealth voice signaling

# pytest exits 5 when it collected nothing; make treats that as the failure it is.
pytest:
	$(VENV)/pytest $(PYTEST_ARGS)

format:
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache
