"""Python side of the RTL: the Icarus/cocotb runner and pyverilog introspection.

`tlm.rtl.runner` builds Verilog and runs cocotb test modules (needs Icarus and
cocotb); `tlm.rtl.introspect` reads module parameters and ports with pyverilog
and checks them against the arch config (needs no simulator).
"""

from __future__ import annotations
