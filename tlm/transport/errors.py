"""Errors of the transport layer.

Both derive from the kernel's `SimulationError`: they report a broken model
(a socket left unbound, a base-protocol rule broken), never bad user input,
which is `tlm.errors.InputError`, nor a bad transaction, which a target
reports through `GenericPayload.response_status` instead of raising.
"""

from __future__ import annotations

from tlm.kernel.errors import SimulationError


class ElaborationError(SimulationError):
    """The model's structure is wrong: a socket bound twice or left unbound, an
    address map with overlapping regions. The message names every object
    involved by its full hierarchical name."""


class ProtocolError(SimulationError):
    """A non-blocking call broke a TLM-2.0 base-protocol rule.

    The message names the socket pair (hop), the transaction and the rule.
    """
