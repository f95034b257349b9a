# Quick start: `make demo`, then `make test`. Both create .venv in the repo on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: setup dev demo test clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e ".[torch]"
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(PIP) -e ".[torch,dev,eval,machines]"
	touch $@

setup: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: setup
	$(PY) -m licodec.demo out

test: dev
	$(VENV)/bin/licodec fetch perceptual
	$(VENV)/bin/ruff format --check licodec tests benchmarks
	$(VENV)/bin/ruff check licodec tests benchmarks
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

clean:
	rm -rf $(VENV) out .pytest_cache
