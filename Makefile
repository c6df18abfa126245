# propsync — every target bootstraps its own virtual environment.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint fmt bench clean check-services setup-system

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

## make demo: the main job on the embedded default, in ./demo-workspace
demo: $(STAMP) setup-system
	$(BIN)/propsync demo --workspace demo-workspace

## make test: system packages (Chromium, Java), services check, ruff (format + lint), mypy,
## the import contracts, pytest
test: $(STAMP) check-services lint
	$(BIN)/python -m pytest -q

## Debian's chromium and Java 17 (apt-get only when one is missing)
setup-system:
	sh scripts/setup_system.sh

check-services: $(STAMP) setup-system
	$(BIN)/python scripts/check_services.py

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

## make bench: every benchmark; results are appended to docs/BENCHMARKS.md by hand
bench: $(STAMP)
	$(BIN)/python bench/models.py
	$(BIN)/python bench/emulator.py
	$(BIN)/python bench/sync.py

clean:
	rm -rf $(VENV) demo-workspace test-artifacts .pytest_cache .mypy_cache .ruff_cache \
		.import_linter_cache
