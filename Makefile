# Two commands do everything on a fresh machine: `make run` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --quiet --disable-pip-version-check
STAMP  := $(VENV)/.scms-installed
NODE_STAMP := node_modules/.scms-installed
VERSION := $(shell node -p "require('./package.json').version")
VSIX   := build/scms-$(VERSION).vsix

.PHONY: setup run demo-reset test bench demo clean

setup: $(STAMP) $(NODE_STAMP)
	@scripts/install-code-server.sh

# torch first, pinned, so pip takes the CPU build on this machine instead of a multi-GB CUDA one
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	@touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

$(VSIX): $(STAMP) $(NODE_STAMP) package.json $(shell find extension/src media -type f) $(shell find server/scms -name '*.py' -o -name '*.json')
	npm run --silent package

# VS Code (code-server) with the extension on a demo workspace, kept between runs; prints its address
run: setup $(VSIX)
	scripts/run-editor.sh

# the demo workspace made afresh (what `make run` opens next); run it while `make run` is stopped
demo-reset: $(STAMP)
	$(PY) scripts/demo.py > /dev/null
	@echo "build/demo-workspace is new again; make run opens it"

# the extension's type check and Node tests, the Python tests (shuffled: pytest-randomly), then the extension in
# real VS Code
test: setup $(VSIX)
	npm run --silent typecheck
	npm run --silent test:unit
	$(PY) -m pytest
	npm run --silent test:e2e

demo: $(STAMP)
	$(PY) scripts/demo.py

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) node_modules build dist out .pytest_cache .hypothesis
