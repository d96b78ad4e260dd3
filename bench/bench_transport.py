"""Transport-layer throughput: transactions per second through a router into a memory.

Four measurements, each one initiator thread -> Router -> Memory (8-byte reads):
- LT, temporally decoupled: b_transport + QuantumKeeper (1 us quantum);
- LT, synchronised: b_transport, then `await wait(delay)` after every call;
- AT through the router: the four-phase protocol via AtInitiator;
- AT straight into the memory (no router), to show what the router costs.

And blocking round trips straight into a target (no router, no memory), to
give the cost of a target that may wait: a plain `b_transport`, an `async
def` one that returns without waiting (awaited), and an async one that
waits 1 ns inside the call (a kernel round trip per transaction); the
ratios to the plain call are printed below the table.

Prints a Markdown table fragment with transactions per second and the cost
per transaction in microseconds. Run:
`.venv/bin/python bench/bench_transport.py [--scale 1.0]`.
"""

from __future__ import annotations

import argparse
import gc
import platform
import time
from collections.abc import Callable

from tlm import NS, US, Module, Simulator, wait
from tlm.transport import (
    AtInitiator, Command, GenericPayload, InitiatorSocket, Memory, QuantumKeeper, ResponseStatus, Router,
    TargetSocket,
)

OK = ResponseStatus.OK


def _system(with_router: bool = True) -> tuple[Simulator, InitiatorSocket, AtInitiator]:
    sim = Simulator()
    top = Module(sim, "top")
    cpu = Module(top, "cpu")
    lt = InitiatorSocket(cpu, "lt")
    at = AtInitiator(cpu, "at")
    mem = Memory(top, "mem", 1 << 16, read_latency=2, write_latency=1, bytes_per_cycle=8, clock_period=NS,
                 ports=1 if with_router else 2)
    if with_router:
        bus = Router(top, "bus", [("mem", 0, 1 << 16)], n_initiators=2)
        lt.bind(bus.targets[0])
        at.socket.bind(bus.targets[1])
        bus.initiators["mem"].bind(mem.socket)
    else:
        lt.bind(mem.sockets[0])
        at.socket.bind(mem.sockets[1])
    return sim, lt, at


def lt_decoupled(n: int) -> int:
    sim, lt, _ = _system()
    qk = QuantumKeeper(sim, quantum=1 * US)
    trans = GenericPayload(Command.READ, 0, bytearray(8))

    async def run() -> None:
        b_transport = lt.b_transport
        for i in range(n):
            trans.address = (i * 8) & 0xFFF8
            qk.local_time = b_transport(trans, qk.local_time)
            if qk.need_sync():
                await qk.sync()

    sim.spawn(run())
    sim.run()
    assert trans.is_response_ok()
    return n


def lt_synchronised(n: int) -> int:
    sim, lt, _ = _system()
    trans = GenericPayload(Command.READ, 0, bytearray(8))

    async def run() -> None:
        b_transport = lt.b_transport
        for i in range(n):
            trans.address = (i * 8) & 0xFFF8
            await wait(b_transport(trans, 0))

    sim.spawn(run())
    sim.run()
    assert trans.is_response_ok()
    return n


def _at(n: int, with_router: bool) -> int:
    sim, _, at = _system(with_router)
    trans = GenericPayload(Command.READ, 0, bytearray(8))

    async def run() -> None:
        for i in range(n):
            trans.address = (i * 8) & 0xFFF8
            await at.transport(trans)

    sim.spawn(run())
    sim.run()
    assert trans.is_response_ok()
    return n


def at_router(n: int) -> int:
    return _at(n, True)


def at_direct(n: int) -> int:
    return _at(n, False)


def _direct(n: int, kind: str) -> int:
    """n blocking calls into a bare target: `plain`, `async` (no wait) or `async_wait` (1 ns)."""
    sim = Simulator()
    top = Module(sim, "top")
    sock = InitiatorSocket(top, "cpu")

    def plain(trans: GenericPayload, delay: int) -> int:
        trans.response_status = OK
        return delay + NS

    async def no_wait(trans: GenericPayload, delay: int) -> int:
        trans.response_status = OK
        return delay + NS

    async def waits(trans: GenericPayload, delay: int) -> int:
        await wait(NS)
        trans.response_status = OK
        return delay

    fn = {"plain": plain, "async": no_wait, "async_wait": waits}[kind]
    sock.bind(TargetSocket(top, "dev", b_transport=fn))
    trans = GenericPayload(Command.READ, 0, bytearray(8))

    async def run_plain() -> None:
        b_transport = sock.b_transport
        delay = 0
        for _ in range(n):
            delay = b_transport(trans, delay)
        await wait(delay)

    async def run_async() -> None:
        b_transport = sock.b_transport
        delay = 0
        for _ in range(n):
            delay = await b_transport(trans, delay)
        await wait(delay)

    sim.spawn(run_plain() if kind == "plain" else run_async())
    sim.run()
    assert trans.is_response_ok() and sim.now == n * NS
    return n


def b_plain(n: int) -> int:
    return _direct(n, "plain")


def b_async(n: int) -> int:
    return _direct(n, "async")


def b_async_wait(n: int) -> int:
    return _direct(n, "async_wait")


def measure(fn: Callable[[int], int], n: int, repeats: int = 3) -> tuple[int, float]:
    """Best CPU time of `repeats` runs (GC off during a run).

    CPU time of this process rather than wall time, because the benchmark
    machine's cores are shared and wall time would count other jobs.
    """
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        t0 = time.process_time()
        count = fn(n)
        dt = time.process_time() - t0
        gc.enable()
        best = min(best, dt)
    return count, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the transaction counts")
    args = parser.parse_args()
    if not args.scale > 0:
        parser.error(f"--scale must be > 0, got {args.scale}")
    cases = [
        ("LT b_transport, router -> memory, quantum 1 us", lt_decoupled, 200_000),
        ("LT b_transport, router -> memory, wait after each", lt_synchronised, 100_000),
        ("AT 4-phase, router -> memory", at_router, 50_000),
        ("AT 4-phase, memory only (no router)", at_direct, 50_000),
        ("b_transport round trip, plain target", b_plain, 500_000),
        ("b_transport round trip, async target (awaited, no wait)", b_async, 500_000),
        ("b_transport round trip, async target waiting 1 ns inside", b_async_wait, 200_000),
    ]
    print(f"Python {platform.python_version()} on {platform.machine()}, best of 3 (CPU time)")
    print()
    print("| benchmark | transactions | CPU s | transactions/s | µs/transaction |")
    print("|---|---:|---:|---:|---:|")
    per_call: dict[str, float] = {}
    for label, fn, n in cases:
        count, seconds = measure(fn, max(1, int(n * args.scale)))
        per_call[fn.__name__] = seconds / count
        print(f"| {label} | {count:,} | {seconds:.3f} | {count / seconds:,.0f} | {1e6 * seconds / count:.2f} |")
    print()
    base = per_call["b_plain"]
    print(f"async b_transport / plain: {per_call['b_async'] / base:.1f}x per call without a wait, "
          f"{per_call['b_async_wait'] / base:.1f}x with a 1 ns wait inside")


if __name__ == "__main__":
    main()
