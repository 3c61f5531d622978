# facetools — `make demo` runs the analysis notebook on the bundled sample; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.facetools-installed
VIDEOS ?= data/sample/sample.mp4

.PHONY: demo test report lint clean-reports

$(STAMP): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=25.1"
	$(BIN)/python -m pip install -q -e ".[dlib,notebooks]" --group dev
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/facetools sample
	$(BIN)/facetools report data/sample/sample.mp4 --out reports

report: $(STAMP)
	$(BIN)/facetools report $(VIDEOS) --out reports

test: $(STAMP)
	bash scripts/system-deps.sh --browser
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean-reports:
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
