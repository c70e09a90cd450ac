# Two commands for a fresh machine: `make demo` and `make test`.
# Both create (or refresh, when setup.cfg changes) the virtualenv in .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test test-postgres test-wheel lint format bench sandbox clean

# The database tests run a second time on this PostgreSQL server when it answers;
# REQUIRE_POSTGRES=1 (set by CI) turns an unreachable server into a failure. The tests
# with real Celery workers (tests/workers) run in that leg when Redis answers too, on
# its database 15, which they empty; REQUIRE_REDIS=1 (set by CI) makes them mandatory,
# and REQUIRE_RABBITMQ=1 does the same for the one worker test on RabbitMQ.
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/django_defacto
REDIS_URL ?= redis://127.0.0.1:6379/15
# The browser tests (tests/browser: the sellers' "Cash in now" button in a headless Chromium,
# Debian's `chromium` and `chromium-driver`) run in the main SQLite run; they are skipped
# when the browser is missing, unless REQUIRE_BROWSER=1 (set by CI) makes them fail.
# `make demo DEMO_ARGS=--exit-after-journey` runs the journey and stops (CI does this).
DEMO_ARGS ?=

$(INSTALLED): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "django-defacto needs Python 3.10 or newer (set PYTHON=python3.x)"; exit 1; }
	@echo "Setting up $(VENV) (first run downloads the dependencies)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@( $(BIN)/python -m pip install --disable-pip-version-check --upgrade pip && \
	   $(BIN)/python -m pip install --disable-pip-version-check -e '.[test]' ) \
		> $(VENV)/install.log 2>&1 || \
		{ tail -n 30 $(VENV)/install.log; echo "Installing failed; full log: $(VENV)/install.log"; exit 1; }
	@touch $(INSTALLED)

demo: $(INSTALLED)
	@$(BIN)/python manage.py migrate --noinput --verbosity 0
	@$(BIN)/python manage.py seed_demo
	@$(BIN)/python manage.py run_demo $(DEMO_ARGS)

test: $(INSTALLED)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check --quiet .
	@REQUIRE_BROWSER="$(REQUIRE_BROWSER)" $(BIN)/pytest
	@$(MAKE) --no-print-directory test-postgres
	@$(MAKE) --no-print-directory test-wheel

# The package as users get it: the built wheel installed in a fresh virtualenv, a
# `startproject` host set up by the guide's Install section only, a loan made there
# (tests/wheel_host). Needs the package index for the host's dependencies.
test-wheel: $(INSTALLED)
	@$(BIN)/python -m tests.wheel_host

test-postgres: $(INSTALLED)
	@if $(BIN)/python -m tests.postgres_probe "$(POSTGRES_URL)"; then \
		if $(BIN)/python -m tests.redis_probe "$(REDIS_URL)"; then \
			redis=1; echo "Database tests on PostgreSQL ($(POSTGRES_URL)), workers on Redis ($(REDIS_URL))"; \
		elif [ -n "$$REQUIRE_REDIS" ]; then \
			echo "Redis is required but does not answer at $(REDIS_URL)"; exit 1; \
		else \
			redis=; echo "Database tests on PostgreSQL ($(POSTGRES_URL)); Redis does not answer at $(REDIS_URL): the worker tests are skipped."; \
		fi; \
		DATABASE_URL="$(POSTGRES_URL)" DEFACTO_TEST_DATABASE=postgres DEFACTO_TEST_REDIS=$$redis \
			DEFACTO_TEST_REDIS_URL="$(REDIS_URL)" $(BIN)/pytest -q tests/integration tests/workers; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required but does not answer at $(POSTGRES_URL)"; exit 1; \
	else \
		echo "PostgreSQL does not answer at $(POSTGRES_URL): its database tests were skipped."; \
	fi

lint: $(INSTALLED)
	@$(BIN)/ruff check .

format: $(INSTALLED)
	@$(BIN)/ruff check --fix --quiet .
	@$(BIN)/ruff format --quiet .

# `make bench` writes benchmarks/report.md and report.json (ignored by git), on PostgreSQL
# when DATABASE_URL names one or $(POSTGRES_URL)'s server answers, else on SQLite.
$(VENV)/.installed-bench: $(INSTALLED)
	@$(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[test,bench]' \
		>> $(VENV)/install.log 2>&1 || { echo "Installing the bench extra failed; see $(VENV)/install.log"; exit 1; }
	@touch $@

bench: $(VENV)/.installed-bench
	@$(BIN)/python -m benchmarks

sandbox: $(INSTALLED)
	@$(BIN)/python -m django_defacto.sandbox --host 127.0.0.1 --port 8765 --state-file .sandbox-state.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
