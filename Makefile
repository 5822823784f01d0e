# Shidian — every command a user or CI needs. `make test` is what CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck unit demo docs i18n bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	# Debian packages: Chromium and a CJK font for the browser tests, wrk for bench/web.py
	command -v chromium >/dev/null && command -v wrk >/dev/null && fc-list | grep -qi wqy || (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei wrk) || echo "chromium, the CJK font or wrk not installed: browser tests will be skipped"
	# Java for the Spark engine's tests (pyspark comes from PyPI with the dev extra; docs/scale.md)
	command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq default-jre-headless) || echo "Java not installed: the Spark engine's tests will be skipped"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 -q

test: lint typecheck unit

# Generate a demo city and county, settle a year of DRG payment, print the summary, write the
# reports; reimburse the county's year and settle its two 医共体 from it (fund → pots → quarterly
# prepayments → claims → year end → member shares); then set up and serve the web app.
demo: $(STAMP)
	$(BIN)/shidian demo generate var/demo/data --cases 200000 --hospitals 40 --persons 20000 --seed 2020
	$(BIN)/shidian drg settle var/demo/data --out var/demo/out --policy guigang-2020
	$(BIN)/shidian insurance reimburse var/demo/data/insurance --out var/demo/insurance-out --policy demo-county-2020
	$(BIN)/shidian capitation settle var/demo/data/capitation --out var/demo/capitation-out --policy demo-county-2020 --claims var/demo/insurance-out
	# the web demo starts afresh: a second `make demo` would otherwise publish a second 2020 DRG run,
	# which the app refuses unless it names the run it corrects
	rm -rf var/demo/web
	SHIDIAN_VAR_DIR=var/demo/web $(BIN)/shidian demo web var/demo/data
	@echo "Shidian is serving on http://127.0.0.1:8000 (Ctrl-C to stop)"
	SHIDIAN_VAR_DIR=var/demo/web $(BIN)/shidian serve --host 127.0.0.1 --port 8000

# Re-extract translatable messages and update the catalogs (then translate the new zh_CN entries).
i18n: $(STAMP)
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k N_ -o var/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i var/messages.pot -d src/shidian/web/locale -D messages --no-fuzzy-matching --ignore-obsolete

docs: $(STAMP)
	$(BIN)/python -m shidian.docs .

# Speed and memory targets, printed with PASS/FAIL (docs/performance.md); on a quiet machine, one
# at a time (the insurance desk and the web pages need PostgreSQL). About 15 minutes in all.
bench: $(STAMP)
	$(BIN)/python bench/drg_settle.py
	$(BIN)/python bench/insurance.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/pilots.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
