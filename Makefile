# The FC runtime is python3.10: develop and test on it when the machine has it.
# A pyenv shim answers `command -v` even when its version is inactive, so ask each candidate to run.
PYTHON ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 python3; do \
	  $$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test lint bench clean

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

$(STAMP): $(VPY) requirements.txt requirements-dev.txt pyproject.toml
	$(VPY) -m pip install -q -r requirements-dev.txt
	$(VPY) -m pip install -q --no-deps -e .
	touch $(STAMP)

dev: $(STAMP)
	$(VENV)/bin/sms-receipts dev

test: $(STAMP)
	$(VPY) -m ruff check .
	$(VPY) -m pytest

lint: $(STAMP)
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .

bench: $(STAMP)
	$(VPY) benchmarks/run.py $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
