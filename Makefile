# articlebot — see README.md. Every target creates/updates .venv itself; torch is installed first,
# pinned to the CPU build, so that nothing pulls a multi-GB CUDA build.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export OMP_WAIT_POLICY := PASSIVE
export ANONYMIZED_TELEMETRY := False

.PHONY: demo test bot repl bench install install-dev lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[llm]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/articlebot ingest samples/
	$(BIN)/articlebot ask "who leads the unity government?"

test: install-dev
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check bot retrieval tests bench

bot: install
	$(BIN)/articlebot discord

repl: install
	$(BIN)/articlebot repl

bench: install-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV)
