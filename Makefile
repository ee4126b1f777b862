# stockd: `make run` starts the service on SQLite with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: install dev run test lint bench clean chromium

$(BIN)/stockd: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/stockd

install: $(BIN)/stockd

run: install
	$(BIN)/stockd serve --demo --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The dashboard's browser tests need Debian's chromium at /usr/bin/chromium (installed here when root can).
chromium:
	@test -x /usr/bin/chromium || { echo "installing chromium for the browser tests"; \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) || \
	  { echo "install chromium (apt-get install chromium) to run the browser tests" >&2; exit 1; }; }

# The in-process matrix, fuzz and unit tests run on both CPUs; the rest (real servers, broker and database
# outages, timing assertions) one at a time.
PARALLEL_TESTS := tests/unit tests/e2e/test_security.py tests/e2e/test_fuzz.py tests/e2e/test_bad_input.py

test: install lint chromium
	$(BIN)/pytest -q -p no:cacheprovider -n 2 $(PARALLEL_TESTS)
	$(BIN)/pytest -q -p no:cacheprovider $(addprefix --ignore=,$(PARALLEL_TESTS))

bench: install
	$(BIN)/python bench/reserve_bench.py

clean:
	rm -rf $(VENV) build *.egg-info stockd.db stockd.db-wal stockd.db-shm
