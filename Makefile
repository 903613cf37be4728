# The two commands a fresh machine needs: `make demo` and `make test`.
# Both create and reuse .venv; it is rebuilt when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := .clearance/demo

.PHONY: demo test lint typecheck check clean bench screenshots wheel mutate

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

## test: the whole suite on every core (the store tests on SQLite and on a throwaway
## PostgreSQL, slow tests included), then the eval suite replaying the shipped recordings
## offline (model failures are data: xfail), in one process as a user runs it
test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest evals --clearance-record-mode=none --clearance-model-failures=xfail

## demo: the main job, end to end, on the embedded defaults
demo: $(STAMP)
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	CLEARANCE_CONFIG=examples/demo/clearance.toml $(BIN)/clearance demo

## wheel: the sdist and the wheel a team installs (dist/); the quickstart test builds them too
wheel: $(STAMP)
	$(BIN)/python -m build --no-isolation --outdir dist .

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pricing.py
	$(BIN)/python benchmarks/bench_router.py
	$(BIN)/python benchmarks/bench_gate.py
	$(BIN)/python benchmarks/bench_evals.py
	$(BIN)/python benchmarks/bench_slo.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_quickstart.py
	$(BIN)/python benchmarks/bench_cli.py

## mutate: mutation testing of the core modules, each with only its own tests (mutmut);
## scores and the survivors' diffs on stdout and in .mutants/summary.json (RESULTS.md, Testing)
mutate: $(STAMP)
	$(BIN)/python benchmarks/mutate.py

## screenshots: render the demo's report pages in headless Chromium (apt-get install chromium),
## to look at them as a reader would; the tests check the HTML's structure, not pixels
screenshots:
	@command -v chromium >/dev/null || { echo "needs chromium: apt-get install chromium"; exit 1; }
	@test -f reports/html/index.html || { echo "run make demo first"; exit 1; }
	@mkdir -p reports/screenshots
	@for page in reports/html/index.html reports/html/slo.html reports/html/models/*.html; do \
		name=$$(basename $$page .html); \
		chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1366,2400 \
			--screenshot=reports/screenshots/$$name.png file://$$PWD/$$page 2>/dev/null; \
		echo "reports/screenshots/$$name.png"; \
	done

clean:
	rm -rf $(VENV) .clearance build dist *.egg-info src/*.egg-info
