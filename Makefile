# Set-up and everyday commands. The README's two set-up commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint install bench system-deps clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock -e ".[test]"
	touch $@

install: $(STAMP)

# The generated-client test (tests/interop/test_openapi.py) runs openapi-python-client from a venv of
# its own: its pins conflict with the project's.
OAPI := .venv-oapi
$(OAPI)/.installed:
	$(PYTHON) -m venv $(OAPI)
	$(OAPI)/bin/pip install -q --disable-pip-version-check 'openapi-python-client==0.29.1'
	touch $@

demo: install  ## a fresh embedded instance with demo data on http://127.0.0.1:8000
	$(BIN)/sottovoce demo

system-deps:  ## Debian packages the browser tests and benchmarks need (Chromium, speech synthesis)
	scripts/system-deps.sh

test: install system-deps $(OAPI)/.installed  ## the whole suite (set SOTTOVOCE_TEST_DATABASE_URL to add PostgreSQL)
	OPENAPI_PYTHON_CLIENT=$(CURDIR)/$(OAPI)/bin/openapi-python-client $(BIN)/python -m pytest

lint: install  ## style, types, the layer contract and import cycles (run by CI before the tests)
	$(BIN)/ruff check sottovoce tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_import_cycles.py

test-fast: install  ## everything but the real recognizer and the browser
	$(BIN)/python -m pytest -m "not slow"

bench: install system-deps  ## benchmark extras (resemblyzer, torch CPU); see benchmarks/README.md
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock -e ".[test,bench]"

clean:
	rm -rf $(VENV) $(OAPI) var
