# The README's commands: make run, make test (plus lint, bench, i18n helpers).
# The interpreter .venv is made from: the distribution's own python3 when it is 3.11 or newer and can
# make a venv (Debian builds it with profile-guided and link-time optimisation: here a page costs
# about a fifth less CPU than on a plain source build), else the first python3 on the PATH.
# `make PYTHON=/path/to/python3 ...` chooses another.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(shell for p in /usr/bin/python3 python3; do \
  $$p -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $$p; \
  done) python3)
endif
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HTMX := static/vendor/htmx.min.js
export BACKOFFICE_VAR_DIR ?= $(CURDIR)/var

.PHONY: run test lint bench check-migrations clean chromium i18n

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(HTMX): package.json
	npm install --no-audit --no-fund --silent
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

run: $(STAMP) $(HTMX)
	$(VENV)/bin/backoffice migrate
	$(VENV)/bin/backoffice seed --customers 200 --seed 1 --demo-accounts --if-empty --bills
	$(VENV)/bin/backoffice serve

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "chromium is missing: install Debian's chromium package for the browser tests"; exit 1; fi; }

test: $(TEST_STAMP) $(HTMX) chromium
	$(VENV)/bin/pytest -q

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check backoffice tests bench migrations
	$(VENV)/bin/mypy backoffice

bench: $(TEST_STAMP) $(HTMX)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk; }
	$(PY) bench/run.py
	$(PY) bench/documents_intake.py
	$(PY) bench/subscriptions.py
	$(PY) bench/invoice_pdf.py
	$(PY) bench/billing.py

LOCALE_DIR := backoffice/locale
POT := $(LOCALE_DIR)/messages.pot

i18n: $(STAMP)
	$(VENV)/bin/pybabel -q extract -F babel.cfg --sort-output --add-location=file \
	  --add-comments=Translators: --project=backoffice --version=0.1.0 -k N_ -k Msg -o $(POT) .
	$(VENV)/bin/pybabel -q update -i $(POT) -d $(LOCALE_DIR) -l hu --ignore-obsolete --previous
	$(VENV)/bin/pybabel -q update -i $(POT) -d $(LOCALE_DIR) -l en --ignore-obsolete --no-fuzzy-matching

check-migrations: $(STAMP)
	$(VENV)/bin/alembic upgrade head && $(VENV)/bin/alembic check

clean:
	rm -rf $(VENV) node_modules static/vendor
