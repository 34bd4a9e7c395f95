# ReRAM PIM accelerator: the two commands a user needs are `make sim` and `make test`.
#   make sim [SIM=icarus|verilator] [WAVES=1] [CONFIG=tiny] [SEED=1] [PROGRAM=slice]
#            [JITTER=seed]   analog answers at random cycles inside their windows
#   make test                 the whole test suite (both simulators)
#   make test-fast            the suite without co-simulation or slow tests (under a minute)
#   make verilog [CONFIG=..]  generate build/<config>/chip.v only
#   make docs                 regenerate docs/isa.md (firmware/isa.py) and docs/cycles.md
#                             (the cycle rules of model/timing.py)
#   make bench                benchmark scripts: analog model speed, inversion accuracy,
#                             full-scale scheduling, co-simulation speed
#   make train                second-order training experiment (K-FAC on analog INV)
#   make report               ARAS report: built-in networks x schedulers on the aras chip
#   make lint                 ruff

SIM    ?= icarus
CONFIG ?= tiny
SEED   ?= 1
PROGRAM ?= slice
WAVES  ?= 0
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

WAVES_FLAG := $(if $(filter 1 yes true,$(WAVES)),--waves,)
JITTER_FLAG := $(if $(JITTER),--jitter $(JITTER),)

.PHONY: sim test test-fast verilog docs lint bench train report clean distclean check-sims

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,scalesim]'
	@touch $@

sim: $(STAMP)
	$(PY) -m reram_pim sim --config $(CONFIG) --sim $(SIM) --seed $(SEED) --program $(PROGRAM) $(WAVES_FLAG) $(JITTER_FLAG)

check-sims:
	@command -v iverilog >/dev/null || { echo "error: Icarus Verilog (iverilog) not found; install it with: sudo apt-get install iverilog"; exit 2; }
	@command -v verilator >/dev/null || { echo "error: Verilator not found; install it with: sudo apt-get install verilator"; exit 2; }

test: $(STAMP) check-sims
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadgroup -q

# Tests marked cosim (they run Icarus or Verilator) or slow are skipped; no simulator needed.
test-fast: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 -q -m "not cosim and not slow"

verilog: $(STAMP)
	$(PY) -m hdl.build $(CONFIG) build/$(CONFIG)

docs: $(STAMP)
	$(PY) -m firmware.isa_doc > docs/isa.md
	$(PY) -m model.cycles_doc > docs/cycles.md

bench: $(STAMP)
	$(PY) scripts/bench_crossbar.py
	$(PY) scripts/bench_refinement.py
	$(PY) scripts/bench_fullscale.py
	$(PY) scripts/bench_cosim.py

train: $(STAMP)
	$(PY) scripts/train_kfac.py

report: $(STAMP)
	$(PY) -m reram_pim report

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf build sim_build .pytest_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
