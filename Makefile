# Two commands for a fresh machine: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint db-upgrade bench clean lock words chromium

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Every dependency is pinned with its hashes (requirements-dev.lock: the line and its test
# tools; requirements.lock: the line alone, for production). `make lock` refreshes both.
$(VENV)/.installed: pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 --quiet -o requirements-dev.lock

run: $(VENV)/.installed
	$(BIN)/intake db upgrade
	$(BIN)/intake run --host $(HOST) --port $(PORT)

# Two processes: the suite waits on databases, browsers and subprocesses as much as it computes.
test: $(VENV)/.installed lint chromium
	$(BIN)/python -m pytest -n 2 -rs

# The browser tests drive Debian's chromium (Playwright's own download cannot work here):
# installed with apt when missing; without apt, the browser tests say what to install.
# Two first runs at once (two checkouts) wait for each other's apt instead of failing.
APT_WAIT := -o DPkg::Lock::Timeout=300
chromium:
	@command -v chromium >/dev/null || ! command -v apt-get >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); export DEBIAN_FRONTEND=noninteractive; \
	  echo "installing Debian's chromium for the browser tests"; \
	  $$SUDO apt-get $(APT_WAIT) install -y -q chromium >/dev/null 2>&1 \
	  || { $$SUDO apt-get $(APT_WAIT) update -q >/dev/null \
	       && $$SUDO apt-get $(APT_WAIT) install -y -q chromium >/dev/null; }; }

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

db-upgrade: $(VENV)/.installed
	$(BIN)/intake db upgrade

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The bench creates (and drops) databases of its own on this server; it only connects to
# the maintenance database named here. `make bench QUICK=1`: one short round (~1 minute).
BENCH_POSTGRES ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

bench: $(VENV)/.installed
	$(BIN)/python bench/line_bench.py --database-url $(BENCH_POSTGRES) $(if $(QUICK),--quick)

# Every reply a caller can receive: segment count and reading grade (see intake/devtools/words_report.py).
words: $(VENV)/.installed
	$(BIN)/python -m intake.devtools.words_report
