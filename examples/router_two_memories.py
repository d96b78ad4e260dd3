"""An initiator, a router and two memories: the transport layer end to end.

The initiator first runs loosely timed (b_transport with a quantum keeper),
then approximately timed (the four-phase protocol through `AtInitiator`),
then shows an address error, debug transport and a DMI grant with its
invalidation. Every line printed is a pure function of the model, so the
output is compared with `router_two_memories.out` by the test suite.

Run: `.venv/bin/python examples/router_two_memories.py`
"""

from __future__ import annotations

from tlm import NS, Module, Simulator, fmt_time, wait
from tlm.transport import (
    AtInitiator, Command, DmiCache, GenericPayload, InitiatorSocket, Memory, QuantumKeeper, Router,
)

SRAM_BASE, ROM_BASE, DRAM_BASE = 0x0000_0000, 0x1000_0000, 0x8000_0000


class Cpu(Module):
    """A test initiator: one LT socket, one AT port, a DMI cache and a log."""

    def __init__(self, parent: Module, name: str, log: list[str]) -> None:
        super().__init__(parent, name)
        self.log = log
        self.dmi = DmiCache()
        self.lt = InitiatorSocket(self, "lt", invalidate_direct_mem_ptr=self._invalidated)
        self.at = AtInitiator(self, "at")
        self.qk = QuantumKeeper(self.sim, quantum=20 * NS)
        self.thread(self.run)

    def say(self, text: str) -> None:
        self.log.append(f"{fmt_time(self.sim.now):>7}  {text}")

    def _invalidated(self, start: int, end: int) -> None:
        self.dmi.invalidate(start, end)
        self.say(f"DMI invalidated [{start:#010x}, {end:#010x}): {len(self.dmi.regions)} region(s) left")

    def show(self, style: str, trans: GenericPayload, done: int) -> None:
        data = bytes(trans.data[:8]).hex() if trans.command is Command.READ and trans.is_response_ok() else ""
        self.say(f"{style} {trans.command.name:5} {trans.address:#010x} len={trans.length:<3} "
                 f"{trans.response_status.name:13} done {fmt_time(done):>6} {data}".rstrip())

    async def run(self) -> None:
        # Loosely timed: annotate delays locally, sync with the kernel once per quantum.
        for i, address in enumerate((SRAM_BASE + 0x10, DRAM_BASE + 0x40, SRAM_BASE + 0x20)):
            payload = bytes(range(16 * i, 16 * i + 16))
            trans = GenericPayload(Command.WRITE, address, payload)
            self.qk.set(self.lt.b_transport(trans, self.qk.local_time))
            self.show("LT", trans, self.qk.get_current_time())
            if self.qk.need_sync():
                await self.qk.sync()
                self.say(f"LT quantum sync at {fmt_time(self.sim.now)}")
        await self.qk.sync()

        # Approximately timed: the same memories, four phases per transaction.
        for address in (SRAM_BASE + 0x10, DRAM_BASE + 0x40, SRAM_BASE + 0x20):
            trans = GenericPayload(Command.READ, address, bytearray(16))
            await self.at.transport(trans)
            self.show("AT", trans, self.sim.now)

        # Errors come back as a status, never as an exception.
        bad = GenericPayload(Command.READ, 0x4000_0000, bytearray(4))
        self.show("LT", bad, self.sim.now + self.lt.b_transport(bad, 0))
        crossing = GenericPayload(Command.WRITE, DRAM_BASE + 0xFFFC, bytes(8))
        self.show("LT", crossing, self.sim.now + self.lt.b_transport(crossing, 0))
        rom_write = GenericPayload(Command.WRITE, ROM_BASE, b"\xde\xad")
        self.show("LT", rom_write, self.sim.now + self.lt.b_transport(rom_write, 0))

        # Debug transport: no time passes.
        peek = bytearray(4)
        n = self.lt.transport_dbg(GenericPayload(Command.READ, DRAM_BASE + 0x44, peek))
        self.say(f"DBG read {n} bytes at {DRAM_BASE + 0x44:#010x}: {peek.hex()}")

        # DMI: a direct view of SRAM with its access latency.
        region = self.lt.get_direct_mem_ptr(GenericPayload(Command.READ, SRAM_BASE, bytearray(1)))
        assert region is not None
        self.dmi.add(region)
        self.say(f"DMI granted [{region.start:#010x}, {region.end:#010x}) read latency "
                 f"{fmt_time(region.read_latency)}")
        await wait(region.read_latency)
        self.say(f"DMI read {bytes(region.read(SRAM_BASE + 0x20, 4)).hex()}")

        # The SRAM withdraws DMI at 100 ns (see `build`); afterwards a transaction is needed again.
        await wait(10 * NS)
        if self.dmi.find(SRAM_BASE + 0x20, 4) is None:
            again = self.lt.get_direct_mem_ptr(GenericPayload(Command.READ, SRAM_BASE, bytearray(1)))
            self.say(f"DMI request after invalidation: {'granted' if again else 'refused'}")
            trans = GenericPayload(Command.READ, SRAM_BASE + 0x20, bytearray(4))
            await wait(self.lt.b_transport(trans, 0))
            self.show("LT", trans, self.sim.now)


def build(sim: Simulator, log: list[str]) -> tuple[Cpu, Router, Memory, Memory]:
    """cpu -> bus -> {sram, boot rom (read-only), dram}; the SRAM drops DMI at 100 ns."""
    top = Module(sim, "top")
    cpu = Cpu(top, "cpu", log)
    bus = Router(top, "bus", [("sram", SRAM_BASE, 0x1000), ("rom", ROM_BASE, 0x100),
                              ("dram", DRAM_BASE, 0x1_0000)], n_initiators=2, latency=1 * NS)
    sram = Memory(top, "sram", 0x1000, read_latency=1, write_latency=1, bytes_per_cycle=8, clock_period=NS)
    rom = Memory(top, "rom", 0x100, read_only=True, clock_period=NS)
    dram = Memory(top, "dram", 0x1_0000, read_latency=20, write_latency=10, bytes_per_cycle=4,
                  clock_period=2 * NS)
    cpu.lt.bind(bus.targets[0])
    cpu.at.socket.bind(bus.targets[1])
    bus.initiators["sram"].bind(sram.socket)
    bus.initiators["rom"].bind(rom.socket)
    bus.initiators["dram"].bind(dram.socket)

    async def withdraw_dmi() -> None:
        await wait(100 * NS)
        sram.set_dmi_enabled(False)

    sim.spawn(withdraw_dmi(), name="top.withdraw_dmi")
    return cpu, bus, sram, dram


def main() -> None:
    sim = Simulator()
    log: list[str] = []
    _, _, sram, dram = build(sim, log)
    sim.run()
    for line in log:
        print(line)
    print(f"end at {fmt_time(sim.now)}; sram {sram.transactions} transfers, dram {dram.transactions}")


if __name__ == "__main__":
    main()
