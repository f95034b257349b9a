# Quick start: `make demo`, then `make test`. Both create .venv in the repo on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt

SYSTEM_PACKAGES := libvpx-dev vpx-tools ffmpeg

.PHONY: setup dev system demo test clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e ".[torch]"
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(PIP) -e ".[torch,dev,eval,machines,video]"
	touch $@

setup: $(VENV)/.installed

# Debian packages for video (libvpx's VP9 encoder and its headers, ffmpeg), installed when missing and root.
system:
	@if command -v ffmpeg >/dev/null && [ -f /usr/include/vpx/vpx_ext_ratectrl.h ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	else echo "licodec: video needs Debian's $(SYSTEM_PACKAGES); install them (as root) to use and test it"; fi

dev: $(VENV)/.dev-installed

demo: setup
	$(PY) -m licodec.demo out

test: dev system
	$(VENV)/bin/licodec fetch perceptual
	$(VENV)/bin/ruff format --check licodec tests benchmarks
	$(VENV)/bin/ruff check licodec tests benchmarks
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

clean:
	rm -rf $(VENV) out .pytest_cache
