# The two commands of the README are `make run` and `make test`.
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: setup setup-test run test lint typecheck jscheck pytest bench format clean

setup:
	scripts/setup

setup-test:
	scripts/setup --test

run: setup
	$(VENV)/telehealth serve

test: setup-test lint typecheck jscheck pytest

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

format:
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache
