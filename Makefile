# `make run` and `make test` set everything up from nothing: venv, packages, front-end libraries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NPM_STAMP := node_modules/.installed-stamp
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install run test test-fast lint format migration bench system-run system-test

# Debian packages: the sandbox needs bubblewrap; the browser tests need chromium and a font.
# Installed with apt when we are root; otherwise the one command to run is printed and we stop.
define need_packages
	@missing=""; \
	for pair in $(1); do pkg=$${pair%%:*}; path=$${pair#*:}; \
	  [ -x "$$path" ] || [ -d "$$path" ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq || true; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || exit 1; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "run:  sudo apt-get install -y$$missing   then run make again"; exit 1; \
	  fi; \
	fi
endef

system-run:
	$(call need_packages,bubblewrap:/usr/bin/bwrap)

system-test:
	$(call need_packages,bubblewrap:/usr/bin/bwrap chromium:/usr/bin/chromium fonts-dejavu-core:/usr/share/fonts/truetype/dejavu)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

run: system-run install
	$(BIN)/adventures db upgrade
	$(BIN)/adventures seed
	$(BIN)/adventures run

# The whole suite on SQLite, then the database-facing tests again on PostgreSQL.
test: system-test install
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
