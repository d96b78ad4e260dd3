"""Method batches: the methods sensitive to one event alone, run as one call.

A generated function that calls each method in turn costs ~15% less per
call than a `for` loop over a list (no iteration; the callables are fast
locals), and that is most of the cost of many small methods on one clock.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Sequence
from typing import Any

# Calls per generated function; a larger batch calls one function per chunk.
CHUNK = 512


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> types.CodeType:
    # The source depends only on the batch's size, so sizes compile once.
    return compile(source, "<method batch>", "exec")


def _generate(signature: str, params: dict[str, Any], lines: list[str]) -> Any:
    """``def fn(<signature>, <name>=params[<name>]...): <lines>``, as a function."""
    args = [signature] if signature else []
    args += [f"{name}=_p[{name!r}]" for name in params]
    source = f"def fn({', '.join(args)}):\n" + "".join(f"    {line}\n" for line in lines)
    namespace: dict[str, Any] = {"_p": params}
    exec(_compiled(source), namespace)
    return namespace["fn"]


def _calls(fns: Sequence[Callable[[], object]]) -> tuple[dict[str, Any], list[str]]:
    return {f"f{i}": fn for i, fn in enumerate(fns)}, [f"f{i}()" for i in range(len(fns))]


def batch_send(event: Any, fns: Sequence[Callable[[], object]], ran: object) -> Callable[[None], object]:
    """The `_send` of `event`'s batch, called by the scheduler like `coro.send(None)`.

    It clears `event._solo_queued` first (a method may trigger the event
    again), calls each of `fns` in order and returns `ran`.
    """
    if len(fns) > CHUNK:
        chunks = [fns[i:i + CHUNK] for i in range(0, len(fns), CHUNK)]
        fns = [_generate("", *_calls(chunk)) for chunk in chunks]
    params, lines = _calls(fns)
    params.update(ev=event, ran=ran)
    return _generate("_", params, ["ev._solo_queued = False", *lines, "return ran"])  # type: ignore[no-any-return]
