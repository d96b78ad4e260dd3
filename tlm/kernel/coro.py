"""Helpers shared by the kernel's awaitables and channel constructors."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from tlm.kernel.simulator import Simulator

P = ParamSpec("P")
R = TypeVar("R")

_GEN_FLAGS = inspect.CO_GENERATOR | inspect.CO_ITERABLE_COROUTINE


def native_coroutine(fn: Callable[P, Generator[Any, None, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Make a generator function return native coroutine objects.

    The body keeps yielding straight to the scheduler (no extra frame, so it
    costs what a `types.coroutine` generator costs), but a call that is never
    awaited now gets Python's "coroutine ... was never awaited" RuntimeWarning,
    pointing at the line of the forgotten `await`; a generator would vanish
    silently. The body does nothing until awaited.
    """
    code = fn.__code__
    fn.__code__ = code.replace(co_flags=(code.co_flags & ~_GEN_FLAGS) | inspect.CO_COROUTINE)
    return fn  # type: ignore[return-value]


def as_simulator(owner: object, what: str) -> Simulator:
    """The Simulator behind `owner`: a Simulator itself, or a Module's `sim`.

    Raises:
        TypeError: `owner` is neither; the message says what to pass.
    """
    from tlm.kernel.simulator import Simulator

    if isinstance(owner, Simulator):
        return owner
    sim = getattr(owner, "sim", None)
    if isinstance(sim, Simulator):
        return sim
    raise TypeError(f"{what} needs a Simulator or a Module as its first argument, got {owner!r}")


def scoped_name(owner: object, name: str) -> str:
    """`name` under a Module owner (``top.m.name``); unchanged under a Simulator."""
    from tlm.kernel.simulator import Simulator

    if isinstance(owner, Simulator):
        return name
    prefix = getattr(owner, "name", None)
    return f"{prefix}.{name}" if isinstance(prefix, str) and prefix else name
