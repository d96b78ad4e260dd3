"""Modules: named containers of processes, channels and sub-modules (sc_module)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from tlm.kernel.event import Event
from tlm.kernel.process import Method, Process
from tlm.kernel.simulator import Simulator


class Module:
    """Base class of a hardware block.

    `parent` is the Simulator (a top-level module) or another Module; the
    hierarchical name joins the names with dots (``top.npu.dma0``).

    Usage::

        class Counter(Module):
            def __init__(self, parent, name):
                super().__init__(parent, name)
                self.count = 0
                self.thread(self.run)

            async def run(self):
                while True:
                    await wait(10 * NS)
                    self.count += 1
    """

    def __init__(self, parent: Simulator | Module, name: str) -> None:
        if not name or "." in name:
            raise ValueError(f"module name must be non-empty and without dots, got {name!r}")
        if isinstance(parent, Simulator):
            self.sim = parent
            self.parent: Module | None = None
            self.name = name
            parent.top_modules.append(self)
        elif isinstance(parent, Module):
            self.sim = parent.sim
            self.parent = parent
            self.name = f"{parent.name}.{name}"
            parent.children.append(self)
        else:
            raise TypeError(f"parent must be a Simulator or a Module, got {parent!r}")
        self.children: list[Module] = []
        self.name = self.sim.register_name(self.name, self, rename=True)
        self.basename = self.name.rpartition(".")[2]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def thread(self, coro_fn: Callable[[], Coroutine[Any, Any, Any]], name: str | None = None,
               reset: Any = None, reset_level: object = True) -> Process:
        """Start `coro_fn()` as a thread process of this module (SC_THREAD).

        `reset` (a Signal) with `reset_level` is reset_signal_is: whenever the
        thread resumes while `reset.read() == reset_level`, it restarts from
        the beginning of `coro_fn` instead.
        """
        pname = f"{self.name}.{name or coro_fn.__name__}"
        return self.sim.spawn(coro_fn, name=pname, reset=reset, reset_level=reset_level)

    def method(self, fn: Callable[[], object], sensitive: Iterable[Event] = (),
               dont_initialize: bool = False, name: str | None = None) -> Method:
        """Register `fn` as a method process of this module (SC_METHOD)."""
        mname = f"{self.name}.{name or fn.__name__}"
        return self.sim.method(fn, tuple(sensitive), dont_initialize, mname)

    def event(self, name: str) -> Event:
        """A new event named under this module."""
        return Event(self.sim, f"{self.name}.{name}")

    def walk(self) -> Iterable[Module]:
        """This module and all below it, depth first."""
        yield self
        for c in self.children:
            yield from c.walk()
