# scorefarm: `make demo` and `make test` each set up everything they need.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# A CPU build of torch; a looser pin pulls several GB of CUDA packages.
TORCH  := torch==2.13.0

.PHONY: setup system demo test bench wheel-check clean

setup: system $(STAMP)

system:
	@scripts/setup_system.sh

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "setup: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/compose render corpora/demo/film.toml -o out/demo

test: setup
	$(PY) -m pytest -q

bench: setup
	@for b in benchmarks/bench_*.py; do $(PY) $$b; done

clean:
	rm -rf out build dist *.egg-info
