"""tlm.transport: TLM-2.0-style transactions between Modules.

The generic payload, sockets with blocking (`b_transport`) and non-blocking
(`nb_transport_fw` / `nb_transport_bw`) transport checked against the base
protocol, debug transport, DMI, a payload event queue and a quantum keeper,
plus two reusable targets: a `Memory` and an address-decoding `Router`.
Also: async (waiting) `b_transport` targets, automatic blocking/non-blocking
conversion, multi-sockets, hierarchical binding, analysis ports, extended
phases and a payload memory manager.

Usage::

    from tlm import Simulator, Module, NS
    from tlm.transport import GenericPayload, Command, InitiatorSocket, Memory

    sim = Simulator()
    cpu = Module(sim, "cpu")
    sock = InitiatorSocket(cpu, "socket")
    mem = Memory(sim, "mem", 4096, read_latency=2, write_latency=1)
    sock.bind(mem.socket)
    trans = GenericPayload(Command.WRITE, 0x10, b"abcd")
    delay = sock.b_transport(trans, 0)
"""

from __future__ import annotations

from tlm.transport.analysis import AnalysisPort
from tlm.transport.dmi import DMI_MAX, DmiCache, DmiDenied, DmiRegion
from tlm.transport.errors import ElaborationError, ProtocolError
from tlm.transport.initiator import AtInitiator
from tlm.transport.memory import Memory, check_access
from tlm.transport.mm import MemoryManager
from tlm.transport.multi import MultiInitiatorSocket, MultiTargetSocket
from tlm.transport.payload import (
    BYTE_DISABLED, BYTE_ENABLED, Command, Extension, GenericPayload, ResponseStatus, byte_view,
)
from tlm.transport.peq import PayloadEventQueue
from tlm.transport.protocol import ExtendedPhase, Hop, NbResult, Phase, Sync
from tlm.transport.quantum import QuantumKeeper
from tlm.transport.router import AddressRange, Router
from tlm.transport.sockets import InitiatorSocket, TargetSocket

__all__ = [
    "BYTE_DISABLED", "BYTE_ENABLED", "DMI_MAX", "AddressRange", "AnalysisPort", "AtInitiator", "Command",
    "DmiCache", "DmiDenied", "DmiRegion", "ElaborationError", "ExtendedPhase", "Extension", "GenericPayload",
    "Hop", "InitiatorSocket", "Memory", "MemoryManager", "MultiInitiatorSocket", "MultiTargetSocket",
    "NbResult", "PayloadEventQueue", "Phase", "ProtocolError", "QuantumKeeper", "ResponseStatus", "Router",
    "Sync", "TargetSocket", "byte_view", "check_access",
]
