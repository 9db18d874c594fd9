# The two set-up commands of the README:
#   make figures   regenerate every figure, its data, figures/README.md and the claims ledger
#   make test      run the whole test suite (x86 SIMDe build and, when available, qemu-aarch64)
# Each creates ./.venv and installs what it needs on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: figures figures-quick test test-fast claims bench lint clean system-deps

$(STAMP): pyproject.toml setup.py $(wildcard kernels/*.c kernels/*.h)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dask,dev]"
	touch $(STAMP)

system-deps:
	bash .ci/system-deps

figures: system-deps $(STAMP)
	$(BIN)/quanttheory figures

figures-quick: system-deps $(STAMP)
	$(BIN)/quanttheory figures --quick

claims: $(STAMP)
	$(BIN)/quanttheory claims

test: system-deps $(STAMP)
	$(BIN)/python -m pytest -n 2 --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow"

bench: $(STAMP)
	$(BIN)/quanttheory bench

lint: $(STAMP)
	$(BIN)/ruff check quanttheory experiments tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
