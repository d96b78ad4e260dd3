# tlmsim — one-line targets over the real tools. `make help` lists them.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
WORKLOAD ?= builtin:dilated_vgg_small

.PHONY: help setup sim rtl compare calibrate report test typecheck bench lint clean dse-long

help:            ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@bash tools/setup.sh "$(PY)" "$(VENV)"
	@touch $(STAMP)

setup: $(STAMP)  ## virtualenv, pip install -e .[dev,rtl,dse], Icarus Verilog

sim: $(STAMP)    ## run the accelerator model on the default workload and print a summary
	@mkdir -p traces
	$(BIN)/tlmsim sim --workload $(WORKLOAD) --trace traces/tlm.jsonl

rtl: $(STAMP)    ## the whole cocotb regression on Icarus (JUnit XML in results.xml)
	$(BIN)/python -m pytest testbenches -q --junitxml=results.xml

compare: $(STAMP)  ## default workload on TLM and RTL, compare the traces, write the report
	$(BIN)/tlmsim sim --workload $(WORKLOAD) --trace traces/tlm.jsonl --json > traces/tlm.json
	$(BIN)/tlmsim rtl --workload $(WORKLOAD) --trace traces/rtl.jsonl --json > traces/rtl.json
	$(BIN)/tlmsim compare traces/tlm.jsonl traces/rtl.jsonl
	$(BIN)/tlmsim report traces/tlm.jsonl traces/rtl.jsonl -o traces/report.html

calibrate: $(STAMP)  ## fit the TLM timing parameters against RTL runs
	$(BIN)/tlmsim calibrate --out traces/calibrated.toml

report: $(STAMP)  ## HTML report of the last compare
	$(BIN)/tlmsim report traces/tlm.jsonl traces/rtl.jsonl -o traces/report.html

test: $(STAMP)   ## unit, property and fast RTL tests
	$(BIN)/python -m pytest tests -q -m "not long"

dse-long: $(STAMP)  ## long design-space-exploration checks (the learned model's accuracy targets)
	$(BIN)/python -m pytest tests/test_predict_long.py -q -m long

typecheck: $(STAMP)  ## mypy over the package (settings in pyproject.toml)
	$(BIN)/mypy tlm

bench: $(STAMP)  ## benchmarks; results go to bench/RESULTS.md
	$(BIN)/python bench/run_all.py

lint: $(STAMP)   ## verilator lint of the RTL
	verilator --lint-only -Wall -Irtl -Irtl/dram rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GMEM_KIND=1 rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GDOUBLE_BUFFER=1 rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GDATAFLOW=1 -GTILE_ROWS=27 -GKMAX=2044 rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GDATAFLOW=1 -GDOUBLE_BUFFER=1 -GTILE_ROWS=27 -GKMAX=1020 rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GDOUBLE_BUFFER=1 -GOVERLAP_DRAIN=1 rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GHAS_VECTOR=1 rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GHAS_VECTOR=1 -GENGINES=1 -GVEC_LANES=3 rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GHAS_VECTOR=1 -GDOUBLE_BUFFER=1 -GMEM_KIND=1 rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GREUSE_SLOTS=4 -GKMAX=1020 rtl/accel_top.v --top-module accel_top
	verilator --lint-only -Wall -Irtl -Irtl/dram -GREUSE_SLOTS=3 -GDATAFLOW=1 -GTILE_ROWS=27 -GKMAX=1020 rtl/accel_top.v --top-module accel_top

clean:           ## remove the virtualenv and generated files
	rm -rf $(VENV) sim_build build traces/*.jsonl traces/*.html results.xml .pytest_cache
