# facetools — `make demo` runs the analysis notebook on the bundled sample; `make test` runs the tests;
# `make lab` opens JupyterLab on notebooks/ with the venv as the kernel.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.facetools-installed
VIDEOS ?= data/sample/sample.mp4
LAB_PORT ?= 8888
LAB_IP ?= localhost

.PHONY: demo test test-fast lab report lint docs clean-reports

$(STAMP): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=25.1"
	$(BIN)/python -m pip install -q -e ".[dlib,sface,decord,notebooks,ray]" --group dev
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/facetools sample
	$(BIN)/facetools report data/sample/sample.mp4 --out reports

report: $(STAMP)
	$(BIN)/facetools report $(VIDEOS) --out reports

test: $(STAMP)
	bash scripts/system-deps.sh --browser
	$(BIN)/python -m pytest

# The inner loop: everything but the tests marked slow and the notebooks (about a minute here; `make test` runs all).
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow"

# The notebooks ask for the kernel "python3": register the venv's interpreter under that name inside the
# venv and put the venv's share/jupyter first on JUPYTER_PATH, so a user-level python3 kernel cannot win.
lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (facetools .venv)" >/dev/null
	@token=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))'); \
	root=$$([ "$$(id -u)" = 0 ] && echo --allow-root); \
	echo; echo "  JupyterLab on notebooks/ (stop with Ctrl-C); open:"; \
	echo; echo "    http://$(LAB_IP):$(LAB_PORT)/lab/tree/explore.ipynb?token=$$token"; echo; \
	JUPYTER_PATH="$(CURDIR)/$(VENV)/share/jupyter$${JUPYTER_PATH:+:$$JUPYTER_PATH}" exec $(BIN)/jupyter lab \
	  --ServerApp.root_dir=notebooks --ServerApp.ip=$(LAB_IP) --ServerApp.port=$(LAB_PORT) --ServerApp.port_retries=0 \
	  --IdentityProvider.token=$$token $$root $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# The documentation site into site/ (the API reference is generated from the docstrings); warnings fail the build.
# The two variables silence banners about MkDocs 2 that Material and mkdocs-gen-files print on every build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict

clean-reports:
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
