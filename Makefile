# One-command entry points. `make train` / `make test` install first (idempotent).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

.PHONY: install train test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints-cpu.txt | $(BIN)/python
	$(PIP) install --upgrade pip
	$(PIP) install -c constraints-cpu.txt torch==2.13.0
	@# venvs from before our own Optuna sweeper: hydra-optuna-sweeper pins optuna<3 (pip check)
	$(PIP) uninstall -y -q hydra-optuna-sweeper 2>/dev/null || true
	$(PIP) install -c constraints-cpu.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

## Train BC on the embedded default (pendulum expert dataset, built offline on first use).
train: install
	$(BIN)/python -m imitation_lab.train $(ARGS)

## The test suite (what CI runs).
test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && exit 0 || exit $$rc

lint: install
	$(BIN)/ruff check imitation_lab tests benchmarks hydra_plugins
	$(BIN)/ruff format --check imitation_lab tests benchmarks hydra_plugins

clean:
	rm -rf outputs multirun MUJOCO_LOG.TXT .pytest_cache
