# The two commands: `make demo` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

# Prefect quiet and reliable on a 2-core machine (see PREFECT-NOTES): no analytics, a
# private home, a generous ephemeral start-up timeout, no user profile or API.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_LEVEL ?= WARNING
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
unexport PREFECT_API_URL PREFECT_API_KEY PREFECT_PROFILE

.PHONY: demo test check lint layers typecheck pytest bench emulator install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv (from PyPI, into the venv) installs the dependencies: the same registry and the same
# resolution as pip, in a tenth of pip's time (parallel downloads; ~5 s of CPU against ~45 s),
# which is most of a fresh clone's installation. pip stays in the venv for the tests that use it.
# Bytecode is compiled once, at installation: `--compile-bytecode` for the dependencies, then
# `compileall` for the pack's link tree in build/ (where the pack is imported from), the tests,
# the scripts, and flows/ at its own path too (deployments load their entrypoints by file path).
# Where PYTHONDONTWRITEBYTECODE is set, as on this machine and many CI images, no process writes
# a .pyc, and each of the many Python processes of a test run compiled Prefect from source again
# (`import prefect`: 3.6 s of CPU without .pyc, 1.3 s with).
UV := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python
$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

# Dependencies are installed when pyproject.toml changes; the package itself is re-linked
# every time (strict editable mode: a link tree that mypy follows, refreshed for new modules).
$(STAMP): pyproject.toml | $(BIN)/uv
	$(UV) -e '.[dev]' --config-setting editable_mode=strict
	touch $(STAMP)

install: $(STAMP)
	@$(UV) --no-deps --reinstall-package prefect-virustotal -e . --config-setting editable_mode=strict
	@$(BIN)/python -m compileall -q -j 0 build tests flows benchmarks demo deployments

demo: install
	@PREFECT_HOME=$$(mktemp -d) $(BIN)/python demo/run_demo.py

# Lint, layers and types run at low CPU priority (nice): in `make test` they run beside the
# tests, which are the longest part and should not wait for them.
lint: install
	nice $(BIN)/ruff check .
	nice $(BIN)/ruff format --check .

# The layer table of DESIGN.md: contracts in pyproject.toml ([tool.importlinter]).
layers: install
	nice $(BIN)/lint-imports --no-cache

typecheck: install
	nice $(BIN)/mypy $(addprefix -p prefect_virustotal.,client core blocks tasks flows emulator cli)

# Three pytest runs. Every test but the core's and the end-to-end's on three workers
# (pytest-xdist, one Prefect test server per worker), which steal each other's queued tests so
# that none waits idle at the end: three on two cores, as much of a flow test is waiting on its
# server (a calm fresh clone took 7 min 24 s against 8 min 32 s on two workers). Beside them, one
# after the other: the core's tests alone and without Prefect (CORE_ONLY=1: the run fails if
# anything imports Prefect; the only run of tests/core), then the end-to-end test on two workers
# (one per backend; its time is spent waiting on its servers and the shared quota). Started
# after the core's, the end-to-end test misses the first minute's crowd (three workers and their
# servers starting, mypy) and runs into the last minutes, when the workers' flow tests wait on
# their servers and leave CPU free. All must pass.
pytest: install
	@home=$$(mktemp -d); mkdir -p $$home/e2e $$home/core $$home/rest; \
	( CORE_ONLY=1 PREFECT_HOME=$$home/core $(BIN)/python -m pytest tests/core -q >$$home/core.log 2>&1; \
	  echo $$? >$$home/core.rc; \
	  PREFECT_HOME=$$home/e2e $(BIN)/python -m pytest tests/e2e -n 2 >$$home/e2e.log 2>&1; \
	  echo $$? >$$home/e2e.rc ) & side=$$!; \
	PREFECT_HOME=$$home/rest $(BIN)/python -m pytest --ignore=tests/e2e --ignore=tests/core -n 3 --dist worksteal; \
	rest=$$?; wait $$side; echo "== tests/core (alone, without Prefect)"; cat $$home/core.log; \
	echo "== tests/e2e (ran alongside the others, after tests/core)"; cat $$home/e2e.log; \
	test $$rest -eq 0 && test "$$(cat $$home/core.rc)" = 0 && test "$$(cat $$home/e2e.rc)" = 0

check: lint layers typecheck

# Lint, layers and types run alongside the tests (their output is printed as each ends).
test:
	@$(MAKE) --no-print-directory -j4 --output-sync=target lint layers typecheck pytest

bench: install
	@for script in benchmarks/bench_*.py; do echo "== $$script"; PREFECT_HOME=$$(mktemp -d) $(BIN)/python $$script || exit 1; done

emulator: install
	$(BIN)/python -m prefect_virustotal.emulator --host 127.0.0.1 --port 8080

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
