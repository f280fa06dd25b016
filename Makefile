# The two commands of the README. Each creates .venv and installs what it needs on a fresh
# machine that has only python3, pip and git.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_OUT ?= demo

.PHONY: demo test lint bench clean browser java

# Debian packages the browser tests need (a real headless Chromium, its driver, CJK fonts;
# poppler-utils renders and reads the PDF report: pdftoppm, pdftotext; mosquitto is the MQTT
# broker the collector's tests start).
APT_PACKAGES := chromium chromium-driver fonts-noto-cjk poppler-utils mosquitto

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3 -m venv failed; trying virtualenv"; \
	  $(PYTHON) -m pip install --user -q virtualenv && $(PYTHON) -m virtualenv $(VENV); }
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e '.[test,spark]'
	@rm -f $(VENV)/.installed-*; touch $@

## Build the Shimen Erlu demo (synthetic data, ledger) and serve the wall screen.
demo: $(STAMP)
	$(BIN)/carbon demo --out $(DEMO_OUT)

## Lint, type-check, check the import layers and run the test suite (installs Chromium for the
## wall-screen browser tests).
test: $(STAMP) browser java
	$(BIN)/ruff check carbon dashboard tests examples benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/pdftoppm ] || [ ! -x /usr/sbin/mosquitto ] || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing $(APT_PACKAGES) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "WARNING: run as root or install $(APT_PACKAGES) to run the browser tests"; \
	  fi; \
	fi

java:
	@if ! command -v java >/dev/null && [ -z "$$JAVA_HOME" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing openjdk-17-jre-headless with apt-get (Spark tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	  else \
	    echo "WARNING: run as root or install openjdk-17-jre-headless to run the Spark tests"; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check carbon dashboard tests examples benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
