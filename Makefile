# Two commands for a fresh machine: `make demo` and `make test`.
# Both create (or refresh, when setup.cfg changes) the virtualenv in .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint format bench sandbox clean

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
	@$(BIN)/python manage.py cash_in_journey

test: $(INSTALLED)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check --quiet .
	@$(BIN)/pytest

lint: $(INSTALLED)
	@$(BIN)/ruff check .

format: $(INSTALLED)
	@$(BIN)/ruff check --fix --quiet .
	@$(BIN)/ruff format --quiet .

bench: $(INSTALLED)
	@$(BIN)/python -m benchmarks

sandbox: $(INSTALLED)
	@$(BIN)/python -m django_defacto.sandbox --host 127.0.0.1 --port 8765 --state-file .sandbox-state.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
