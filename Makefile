# `make run` and `make test` set everything up from nothing: venv, packages, front-end libraries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NPM_STAMP := node_modules/.installed-stamp
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install run test test-fast lint format migration bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

run: install
	$(BIN)/adventures db upgrade
	$(BIN)/adventures seed
	$(BIN)/adventures run

# The whole suite on SQLite, then the database-facing tests again on PostgreSQL.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest
	ADVENTURES_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -m "not browser and not slow" -p no:cacheprovider

test-fast: install
	$(BIN)/pytest -m "not browser and not slow" -x

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# A new Alembic revision from the models: make migration MSG="what changed"
MIGRATION_ENV := ADVENTURES_INSTANCE=/tmp/adventures-migration DATABASE_URL=sqlite:////tmp/adventures-migration/m.db
migration: install
	test -n "$(MSG)" || { echo 'usage: make migration MSG="what changed"'; exit 2; }
	rm -rf /tmp/adventures-migration && mkdir -p /tmp/adventures-migration
	$(MIGRATION_ENV) $(BIN)/adventures db upgrade
	$(MIGRATION_ENV) $(BIN)/adventures db migrate -m "$(MSG)"
	$(BIN)/ruff format migrations/versions

bench: install
	for f in tests/bench/bench_*.py; do $(BIN)/python $$f || exit 1; done
