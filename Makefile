# Two commands for a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app incidents

.PHONY: run test lint bench translations translations-update clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

translations: | $(BIN)/python
	$(BIN)/pybabel compile --statistics -d incidents/translations

## run: install, migrate the SQLite database, load the demo data and serve on http://127.0.0.1:5000
run: $(VENV)/.installed-run translations
	$(FLASK) db upgrade
	$(FLASK) stats rebuild
	$(FLASK) seed-demo --with-incidents
	$(FLASK) run --host 127.0.0.1 --port 5000

## test: install the test dependencies and run the whole suite (SQLite and PostgreSQL, browser tests).
## The browser tests run beside the rest, in a second process: the browser mostly waits. Three
## slow web files (whole demo loads, load runs through gunicorn, the statistics' attacker) go
## with them, so both processes take about as long.
SECOND_LANE := tests/e2e tests/web/test_demo_incidents.py tests/web/test_instances.py tests/web/test_disclosure_attack.py
test: $(VENV)/.installed-test translations
	@$(BIN)/pytest -p no:cacheprovider $(SECOND_LANE) > .pytest-e2e.log 2>&1 & e2e=$$!; \
	$(BIN)/pytest $(addprefix --ignore=,$(SECOND_LANE)); rest=$$?; \
	wait $$e2e; browser=$$?; \
	echo "--- browser tests and the slow web files ($(SECOND_LANE)) ---"; cat .pytest-e2e.log; rm -f .pytest-e2e.log; \
	test $$rest -eq 0 && test $$browser -eq 0

## bench: latency, throughput and memory at 10k and 1M incidents, SQLite and PostgreSQL
## (QUICK=1: 100k instead of 1M, about 10 minutes); see bench/README.md
bench: $(VENV)/.installed-bench translations
	$(BIN)/python -m bench.run $(if $(filter-out 0,$(QUICK)),--quick)

## lint: ruff (lint and format), mypy over incidents/ and tests/ (pyproject.toml), bandit.
## The same ruff and mypy run before each commit after `pre-commit install` (.pre-commit-config.yaml).
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check incidents tests config.py
	$(BIN)/mypy
	$(BIN)/bandit -q -r incidents -ll

## translations-update: extract marked strings and merge them into the catalogues
translations-update: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg --ignore-dirs=".* __pycache__ .venv instance" -k _l -k lazy_gettext -k lazy_ngettext:1,2 --no-location --sort-output -o incidents/translations/messages.pot .
	$(BIN)/pybabel update -i incidents/translations/messages.pot -d incidents/translations --ignore-obsolete --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance/incidents.db
