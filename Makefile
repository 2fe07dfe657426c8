# Two commands do everything on a fresh machine: `make run` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --quiet --disable-pip-version-check
STAMP  := $(VENV)/.scms-installed

.PHONY: setup run test bench clean

setup: $(STAMP)

# torch first, pinned, so pip takes the CPU build on this machine instead of a multi-GB CUDA one
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	@touch $(STAMP)

run: setup
	$(PY) scripts/demo.py

# pytest's exit 5 ("no tests collected") is not a failure
test: setup
	$(PY) -m pytest; rc=$$?; [ $$rc -eq 5 ] && exit 0; exit $$rc

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
