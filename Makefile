# Two commands for a fresh machine: `make demo` and `make test`.
# Both create (or refresh, when setup.cfg changes) the virtualenv in .venv.

# .venv is the oldest pair the suite runs on: the default python3 (3.11 on these machines;
# 3.10 is the oldest supported) with Django pinned to 5.2, the oldest supported Django,
# even where the Python could run a newer one. `make test-newest` is the newest pair.
PYTHON ?= python3
DJANGO_OLDEST ?= django>=5.2,<5.3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# The newest supported pair, Python 3.13 with Django 6.1, in .venv-newest (CI runs it
# after `make test`): pyenv's newest 3.13 when pyenv has one, else python3.13 on the PATH.
PYTHON_NEWEST ?= $(or $(shell ls -d "$$(pyenv root 2>/dev/null)"/versions/3.13.*/bin/python3.13 \
	2>/dev/null | sort -V | tail -n 1),python3.13)
DJANGO_NEWEST ?= django>=6.1,<6.2
NEWEST_VENV := .venv-newest
NEWEST_BIN := $(NEWEST_VENV)/bin
NEWEST_INSTALLED := $(NEWEST_VENV)/.installed

.PHONY: demo test test-newest test-postgres test-wheel lint typecheck format bench sandbox clean

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
	   $(BIN)/python -m pip install --disable-pip-version-check -e '.[test]' '$(DJANGO_OLDEST)' ) \
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
	@$(MAKE) --no-print-directory typecheck
	@REQUIRE_BROWSER="$(REQUIRE_BROWSER)" $(BIN)/pytest
	@$(MAKE) --no-print-directory test-postgres
	@$(MAKE) --no-print-directory test-wheel

# The whole suite on SQLite again, on the newest pair (see PYTHON_NEWEST above): Django's
# next deprecations show there first. A missing Python 3.13 is an error, not a skip.
$(NEWEST_INSTALLED): setup.cfg pyproject.toml
	@command -v "$(PYTHON_NEWEST)" > /dev/null || { echo "make test-newest needs Python 3.13:" \
		"'$(PYTHON_NEWEST)' was not found (pyenv install 3.13, or set PYTHON_NEWEST)"; exit 1; }
	@"$(PYTHON_NEWEST)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || \
		{ echo "make test-newest needs Python 3.13: '$(PYTHON_NEWEST)' is another version or does not run"; exit 1; }
	@echo "Setting up $(NEWEST_VENV) with $(PYTHON_NEWEST) and $(DJANGO_NEWEST)..."
	@test -x $(NEWEST_BIN)/python || "$(PYTHON_NEWEST)" -m venv $(NEWEST_VENV)
	@( $(NEWEST_BIN)/python -m pip install --disable-pip-version-check --upgrade pip && \
	   $(NEWEST_BIN)/python -m pip install --disable-pip-version-check -e '.[test]' '$(DJANGO_NEWEST)' ) \
		> $(NEWEST_VENV)/install.log 2>&1 || \
		{ tail -n 30 $(NEWEST_VENV)/install.log; echo "Installing failed; full log: $(NEWEST_VENV)/install.log"; exit 1; }
	@touch $@

test-newest: $(NEWEST_INSTALLED)
	@$(NEWEST_BIN)/python -c 'import sys, django; print(f"Newest pair: Python {sys.version.split()[0]}, Django {django.get_version()}")'
	@REQUIRE_BROWSER="$(REQUIRE_BROWSER)" $(NEWEST_BIN)/pytest
	@# The wheel host again: a Python 3.13 host, where pip picks the newest Django.
	@$(NEWEST_BIN)/python -m tests.wheel_host

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

# mypy with django-stubs and djangorestframework-stubs over django_defacto/ (configured in
# pyproject.toml), in .venv only: the stubs follow its Django, the oldest supported one.
typecheck: $(INSTALLED)
	@$(BIN)/mypy

format: $(INSTALLED)
	@$(BIN)/ruff check --fix --quiet .
	@$(BIN)/ruff format --quiet .

# `make bench` writes benchmarks/report.md and report.json (ignored by git), on PostgreSQL
# when DATABASE_URL names one or $(POSTGRES_URL)'s server answers, else on SQLite.
# `make bench BENCH_ARGS=--scale` is the scale run instead (PostgreSQL only, tens of
# minutes, never run by CI; see docs/benchmarks.md): benchmarks/scale-report.md and .json.
BENCH_ARGS ?=
$(VENV)/.installed-bench: $(INSTALLED)
	@$(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[test,bench]' \
		>> $(VENV)/install.log 2>&1 || { echo "Installing the bench extra failed; see $(VENV)/install.log"; exit 1; }
	@touch $@

bench: $(VENV)/.installed-bench
	@$(BIN)/python -m benchmarks $(BENCH_ARGS)

sandbox: $(INSTALLED)
	@$(BIN)/python -m django_defacto.sandbox --host 127.0.0.1 --port 8765 --state-file .sandbox-state.json

clean:
	rm -rf $(VENV) $(NEWEST_VENV) .pytest_cache .ruff_cache .mypy_cache build dist *.egg-info
