# The two commands of the README: `make run` (the pipeline) and `make test` (the suite).
# Both create .venv and install requirements.txt on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint smoke clean

$(STAMP): requirements.txt requirements-nodeps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

setup: $(STAMP)

# `make run PRESET=presets/full.yaml` applies a preset to params.yaml first (e.g. everything the
# pipeline has, beyond the default's course tasks).
run: setup
	$(if $(PRESET),PYTHONPATH=src $(BIN)/python -m genadapt.presets $(PRESET))
	PATH="$(CURDIR)/$(BIN):$$PATH" dvc repro

test: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m pytest -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check .

# Apply the smoke preset to params.yaml (`python -m genadapt.presets --undo` restores the file as it was).
smoke: setup
	PYTHONPATH=src $(BIN)/python -m genadapt.presets presets/smoke.yaml

clean:
	rm -rf data/prepared models generated metrics curves reports
