"""Calibration: fit the TLM's timing (and memory model) to a reference, validate on held-out runs.

`core.calibrate` runs the calibration and validation workloads through a
reference (`runs.RtlReference`, or a TLM stand-in for tests), fits the
`[timing]` parameters (`measure` then `fit`) and reports before/after
accuracy (`report`). `dram` fits the TLM memory-model levels against the
RTL built with a DRAM (`tlmsim calibrate --hardware`).
"""

from __future__ import annotations
