# Two commands for a fresh machine (Python 3.11 + the OS package manager):
#   make run    set up, migrate the SQLite database in instance/, serve on 127.0.0.1:5000
#   make test   set up, then lint and run the whole suite on SQLite and PostgreSQL
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/hiring_test

.PHONY: run test lint bench scheduler demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app run --host 127.0.0.1 --port 5000

demo: $(STAMP)
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app demo

scheduler: $(STAMP)
	$(BIN)/flask --app app scheduler

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	sh scripts/ensure-chromium.sh
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python scripts/run_tests.py $(PYTEST_ARGS)

bench: $(STAMP)
	sh scripts/ensure-wrk.sh
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
