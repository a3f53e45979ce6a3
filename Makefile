# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
MO := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))

VENDOR := app/static/vendor/tus.min.js
# `make run PORT=8080` (and HOST=0.0.0.0 to be reached from other machines).
PORT ?= 5000
HOST ?= 127.0.0.1
# Two pytest-xdist workers: most of the suite waits on real processes (ffmpeg, Whisper, Chromium, gunicorn), not
# on this process. `make test PYTEST_ARGS=` runs it in one process.
PYTEST_ARGS ?= -n 2 --dist loadgroup --durations=25

.PHONY: run test install install-test lint translations vendor system-test-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP) translations vendor
install-test: $(TEST_STAMP) translations vendor

# Front-end libraries come from the npm registry (package-lock.json pins them) and are served by
# the app itself: schools may run ClassLab on an intranet with no CDN.
vendor: $(VENDOR)
$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p app/static/vendor
	cp node_modules/tus-js-client/dist/tus.min.js app/static/vendor/

translations: $(MO)
%.mo: %.po | $(RUN_STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

# Starts the web app on http://127.0.0.1:5000 and one Celery worker, on the embedded defaults.
run: install
	$(BIN)/classlab db upgrade
	$(BIN)/classlab diagnostics import
	$(BIN)/classlab frameworks import
	$(BIN)/classlab rehearsals import
	$(BIN)/classlab plans import
	$(BIN)/classlab meetings import
	$(BIN)/classlab run --with-worker --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests, ffmpeg and espeak-ng for generated media fixtures.
# Installed with apt only when missing and when we are root (CI and the dev machines are). Pango and DejaVu
# (Hebrew and Arabic glyphs) are what WeasyPrint renders a learning plan's PDF with.
system-test-deps:
	@missing=""; \
	for pair in chromium:chromium ffmpeg:ffmpeg espeak-ng:espeak-ng; do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; command -v $$cmd >/dev/null || missing="$$missing $$pkg"; \
	done; \
	ldconfig -p | grep -q 'libpangoft2-1.0.so.0' || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	fc-list 2>/dev/null | grep -q DejaVuSans || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing with apt"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages:$$missing (install them with apt, or run as root)"; exit 1; fi; \
	fi

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

test: install-test system-test-deps lint
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules app/static/vendor
