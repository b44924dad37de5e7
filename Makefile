# Two commands do everything on a fresh machine:
#   make up    installs into .venv and starts the embedded default (vpdn up)
#   make test  installs into .venv and runs the whole test suite
PYTHON ?= python3
VENV ?= .venv

.PHONY: install up test

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

up: install
	$(VENV)/bin/vpdn up

test: install
	$(VENV)/bin/pytest
