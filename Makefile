# postmortem-kb: the two commands a new machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8501
ADDRESS ?= localhost
INDEX ?= index
CORPUS ?= corpus
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup setup-test index run test lint browser-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test browser-deps

## Debian's Chromium for the browser test (Playwright cannot download browsers here).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "warning: could not install chromium"; \
		else echo "note: install Debian's chromium for the browser tests (sudo apt-get install chromium)"; fi; \
	fi

# Ingest again (incrementally) when the corpus folder (a file added or removed) or the package
# changed; the ingest itself decides what to analyse again: a file whose text is unchanged only
# if the extraction rules differ (EXTRACTOR_FILES and extractor_fingerprint in
# ingest/pipeline.py).
PACKAGE_FILES := $(wildcard ingest/*.py ingest/*/*.py ingest/data/*)
$(INDEX)/manifest.json: $(PACKAGE_FILES) $(CORPUS)
	$(VENV)/bin/pmkb ingest $(CORPUS) --index $(INDEX) --prune
	touch $@

index: setup $(INDEX)/manifest.json

run: setup index
	PMKB_INDEX=$(INDEX) $(VENV)/bin/streamlit run app.py --server.port $(PORT) \
		--server.address $(ADDRESS) --server.headless true --browser.gatherUsageStats false

test: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

lint: setup-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) $(INDEX)/gen-* $(INDEX)/manifest.json $(INDEX)/LOCK
