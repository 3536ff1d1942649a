# One-command entry points. `make train` / `make test` install first (idempotent).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
TORCH := torch==2.13.0
# Without a GPU (no nvidia-smi) torch comes from PyTorch's CPU wheel index, as PyTorch documents
# (pip install torch --index-url https://download.pytorch.org/whl/cpu); the public index would
# pull the multi-GB CUDA build. With a GPU, the default index (CUDA torch). Override either:
# `make install TORCH_INDEX=https://download.pytorch.org/whl/cu128`.
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,https://download.pytorch.org/whl/cpu)
# One quick try (no retries, 10 s timeout); an unreachable index falls back to the default one.
TORCH_INSTALL := $(if $(TORCH_INDEX),$(PIP) install --index-url $(TORCH_INDEX) --timeout 10 --retries 0 $(TORCH) || { echo "warning: $(TORCH_INDEX) unreachable: torch from the default index" >&2; $(PIP) install -c constraints-cpu.txt $(TORCH); },$(PIP) install $(TORCH))

.PHONY: install train test lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints-cpu.txt | $(BIN)/python
	$(PIP) install --upgrade pip
	$(TORCH_INSTALL)
	@# venvs from before our own Optuna sweeper: hydra-optuna-sweeper pins optuna<3 (pip check)
	$(PIP) uninstall -y -q hydra-optuna-sweeper 2>/dev/null || true
	$(PIP) install -c constraints-cpu.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

## Train BC on the embedded default (pendulum expert dataset, built offline on first use).
train: install
	$(BIN)/python -m imitation_lab.train $(ARGS)

## The test suite (what CI runs), in one process: the Slurm requeue test fails under xdist.
PYTEST_ARGS ?=
test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && exit 0 || exit $$rc

## The docs site into site/ (mkdocs.yml); --strict: a broken link or API reference fails.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: install
	$(BIN)/ruff check imitation_lab tests benchmarks hydra_plugins docs
	$(BIN)/ruff format --check imitation_lab tests benchmarks hydra_plugins docs/hooks

clean:
	rm -rf outputs multirun site MUJOCO_LOG.TXT .pytest_cache
