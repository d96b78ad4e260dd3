"""Comparing two runs of one workload: alignment, error metrics, reports.

`align` pairs the records of two traces on (op, tile); `compare_traces`
computes the end-to-end accuracy and the per-op, drift and worst-case
figures; `report` renders them as HTML or Markdown (it imports matplotlib,
so it is not imported here).
"""

from __future__ import annotations

from tlm.compare.align import OpMatch, align, check_comparable
from tlm.compare.metrics import Comparison, OpStats, compare_traces

__all__ = ["Comparison", "OpMatch", "OpStats", "align", "check_comparable", "compare_traces"]
