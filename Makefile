# The two commands of the README: `make run` and `make test`. Each sets up
# everything first (a virtualenv in .venv with the hub and its tools).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

# The services of this machine, used for the first test pass when they answer.
PG_URL ?= postgresql://127.0.0.1:5432/test
REDIS_SERVER_URL ?= redis://127.0.0.1:6379/0

.PHONY: install run test test-postgres test-sqlite lint format bench clean browser

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# With the platforms folder beside this checkout, `make run` also plays the platforms'
# APIs from their samples (the sandbox) and syncs every catalogue from it.
SHARED ?= ../shared
run: install
	$(BIN)/hub db upgrade
	$(BIN)/hub run --port $(PORT)$(if $(wildcard $(SHARED)/platforms), --sandbox $(SHARED)/platforms)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The workspace's browser test drives Debian's headless Chromium and its driver;
# a fresh machine lacks them. Installed once (as root, or with sudo); if that
# fails the browser test says why and is skipped.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo -n"; fi; \
		echo "== installing chromium and chromium-driver for the browser test"; \
		{ $$sudo apt-get update -qq && \
		  $$sudo apt-get install -y --no-install-recommends chromium chromium-driver; } \
		|| echo "== could not install chromium: the browser test will be skipped"; \
	fi

# Two passes: PostgreSQL + a Redis server when they answer (or DATABASE_URL and
# REDIS_URL are given), and SQLite + the embedded Redis in any case. They share
# nothing, so they run side by side (on two cores the suite takes about the time
# of the longer pass); each writes to its own log under .test-logs, printed
# whole when it ends, and `make test` fails when either fails.
TEST_LOGS := .test-logs
test: lint browser
	@mkdir -p $(TEST_LOGS); \
	db="$${DATABASE_URL:-}"; rd="$${REDIS_URL:-}"; \
	if [ -z "$$db" ] && $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then db="$(PG_URL)"; fi; \
	if [ -z "$$rd" ] && $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 6379), 1)" 2>/dev/null; then rd="$(REDIS_SERVER_URL)"; fi; \
	if [ -z "$$db" ] || [ -z "$$rd" ]; then \
		echo "== PostgreSQL or Redis not reachable: running only the SQLite and embedded Redis pass"; \
		exec env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest $(PYTEST_ARGS); \
	fi; \
	echo "== two test passes side by side: PostgreSQL ($$db) with Redis ($$rd), and SQLite with the embedded Redis"; \
	DATABASE_URL="$$db" REDIS_URL="$$rd" $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS) > $(TEST_LOGS)/postgres.log 2>&1 & pg=$$!; \
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest $(PYTEST_ARGS) > $(TEST_LOGS)/sqlite.log 2>&1 & lite=$$!; \
	wait $$lite; lite_rc=$$?; \
	echo "== test pass: SQLite and the embedded Redis (exit $$lite_rc)"; cat $(TEST_LOGS)/sqlite.log; \
	wait $$pg; pg_rc=$$?; \
	echo "== test pass: PostgreSQL and Redis (exit $$pg_rc)"; cat $(TEST_LOGS)/postgres.log; \
	echo "== PostgreSQL pass exit $$pg_rc, SQLite pass exit $$lite_rc"; \
	[ $$pg_rc -eq 0 ] && [ $$lite_rc -eq 0 ]

test-postgres: install
	DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" REDIS_URL="$${REDIS_URL:-$(REDIS_SERVER_URL)}" $(BIN)/pytest $(PYTEST_ARGS)

test-sqlite: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest $(PYTEST_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/normalize.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache $(TEST_LOGS)
