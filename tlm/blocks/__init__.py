"""The accelerator's blocks as TLM modules (docs/microarch.md).

Blocks use the kernel and the transport layer; nothing below `tlm.blocks`
imports it back.
"""

from __future__ import annotations

from tlm.blocks.accelerator import Accelerator, SimResult, simulate

__all__ = ["Accelerator", "SimResult", "simulate"]
