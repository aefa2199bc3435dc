# The FC runtime is python3.10: develop and test on it when the machine has it.
# A pyenv shim answers `command -v` even when its version is inactive, so ask each candidate to run.
PYTHON ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 python3; do \
	  $$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test test-fast lint typecheck bench build package template clean browser

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

$(STAMP): $(VPY) requirements.txt requirements-dev.txt pyproject.toml
	$(VPY) -m pip install -q -r requirements-dev.txt
	$(VPY) -m pip install -q --no-deps -e .
	touch $(STAMP)

dev: $(STAMP)
	$(VENV)/bin/sms-receipts dev

# Everything CI runs (.ci/run), cheapest first: lint, format, types, then the build and every test.
# The deploy tests build the function packages and install the `s` CLI (npm) themselves; building
# here first only makes a download failure show before the tests start.
test: $(STAMP) browser
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(MAKE) --no-print-directory typecheck
	$(VPY) scripts/build_functions.py
	$(VPY) -m pytest

# The report's test opens the page in a headless Chromium (Debian's package, as root): installed once.
browser:
	@command -v chromium >/dev/null 2>&1 || { export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# The unit tests only: pure, offline (no build, no npm, no sockets), for the edit-test loop.
test-fast: $(STAMP)
	$(VPY) -m pytest tests/unit

lint: $(STAMP)
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .

# mypy, configured in pyproject.toml: the deployable package strictly, with no error allowed; the
# dev package relaxed, its remaining errors listed and bounded (lower DEV_TYPE_ERRORS as they go).
DEV_TYPE_ERRORS := 10
typecheck: $(STAMP)
	$(VPY) -m mypy shared/sms_receipts
	@mkdir -p build; $(VPY) -m mypy shared/sms_receipts_dev > build/.mypy-dev.txt; n=$$(grep -c ': error:' build/.mypy-dev.txt); \
	  grep ': error:' build/.mypy-dev.txt; \
	  echo "typecheck: sms_receipts_dev has $$n errors (at most $(DEV_TYPE_ERRORS))"; test $$n -le $(DEV_TYPE_ERRORS)

bench: $(STAMP)
	$(VPY) benchmarks/run.py $(BENCH)

# build/<function>/ for each function (or only FUNCTION=http_receipt|mns_receipt|alicom_pull|reconcile):
# the handler, sms_receipts and the pinned packages for FC's python3.10 (see scripts/build_functions.py).
build: $(STAMP)
	$(VPY) scripts/build_functions.py $(FUNCTION)

# build/dist/<function>.zip too, for uploading to OSS (the ROS stack, template.yml).
package: $(STAMP)
	$(VPY) scripts/build_functions.py --zip $(FUNCTION)

# template.yml's generated parts (the tables and their ARNs), from shared/sms_receipts/storage/schema.py.
template: $(STAMP)
	$(VPY) scripts/render_template.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build
