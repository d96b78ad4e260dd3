"""Constant expressions of Verilog parameters and ranges, as plain data.

An `Expr` is a nested list (JSON-able, so parse results can be cached on
disk without pyverilog's objects):

    ["int", v] | ["id", name] | ["un", op, x] | ["bin", op, l, r]
    | ["cond", c, t, f] | ["sel", x, msb, lsb] | ["bit", x, i]
    | ["call", name, [args]] | ["?", text]   (something not evaluated)

`from_pyverilog` converts a pyverilog AST node, `evaluate` computes a value
from parameter values (None when something is unknown), `expr_text` prints
it back, `width` is the bit count of a `[msb:lsb]` range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Expr = list[Any]


def _int_const(text: str) -> int | None:
    """Value of a Verilog integer literal (`12`, `8'hff`, `'b1010`); None for x/z."""
    t = text.replace("_", "").lower()
    if "'" not in t:
        return int(t) if t.isdigit() else None
    size, _, rest = t.partition("'")
    rest = rest.lstrip("s")
    if not rest:
        return None
    base = {"d": 10, "h": 16, "b": 2, "o": 8}.get(rest[0])
    digits = rest[1:] if base else rest
    try:
        value = int(digits, base or 10)
    except ValueError:
        return None  # x / z digits
    if size:
        value &= (1 << int(size)) - 1
    return value


def _clog2(v: int) -> int:
    return 0 if v <= 1 else (v - 1).bit_length()


_BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: int(a / b) if b else None, "%": lambda a, b: (abs(a) % abs(b)) * (1 if a >= 0 else -1) if b else None,
    "**": lambda a, b: a**b if b >= 0 else 0, "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b,
    "<<<": lambda a, b: a << b, ">>>": lambda a, b: a >> b,
    "<": lambda a, b: int(a < b), ">": lambda a, b: int(a > b), "<=": lambda a, b: int(a <= b),
    ">=": lambda a, b: int(a >= b), "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b),
    "===": lambda a, b: int(a == b), "!==": lambda a, b: int(a != b),
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "&&": lambda a, b: int(bool(a) and bool(b)), "||": lambda a, b: int(bool(a) or bool(b)),
}
_UNARY = {"-": lambda a: -a, "+": lambda a: a, "!": lambda a: int(not a), "~": lambda a: ~a}


def evaluate(expr: Expr | None, env: Mapping[str, int | None]) -> int | None:
    """Value of a constant expression given parameter values; None if unknown."""
    if expr is None:
        return None
    kind = expr[0]
    if kind == "int":
        return int(expr[1])
    if kind == "id":
        return env.get(expr[1])
    if kind == "un":
        x = evaluate(expr[2], env)
        return None if x is None else _UNARY[expr[1]](x)
    if kind == "bin":
        a, b = evaluate(expr[2], env), evaluate(expr[3], env)
        if a is None or b is None:
            return None
        try:
            return _BINARY[expr[1]](a, b)
        except (ValueError, OverflowError):  # negative shift counts and the like
            return None
    if kind == "cond":
        c = evaluate(expr[1], env)
        return None if c is None else evaluate(expr[2] if c else expr[3], env)
    if kind in ("sel", "bit"):
        x = evaluate(expr[1], env)
        hi = evaluate(expr[2], env)
        lo = hi if kind == "bit" else evaluate(expr[3], env)
        if x is None or hi is None or lo is None or hi < lo:
            return None
        return (x >> lo) & ((1 << (hi - lo + 1)) - 1)
    if kind == "call" and expr[1] == "clog2" and len(expr[2]) == 1:
        v = evaluate(expr[2][0], env)
        return None if v is None else _clog2(v)
    return None


def width(msb: Expr | None, lsb: Expr | None, env: Mapping[str, int | None]) -> int | None:
    """Bits of `[msb:lsb]` (1 when there is no range; None if unknown)."""
    if msb is None:
        return 1
    hi, lo = evaluate(msb, env), evaluate(lsb, env)
    return None if hi is None or lo is None else abs(hi - lo) + 1


def expr_text(expr: Expr | None) -> str:
    """Readable text of an expression (binary operands parenthesised)."""
    if expr is None:
        return ""
    kind = expr[0]
    if kind == "int":
        return str(expr[1])
    if kind in ("id", "?"):
        return str(expr[1])
    if kind == "un":
        return f"{expr[1]}{_wrap(expr[2])}"
    if kind == "bin":
        return f"{_wrap(expr[2])} {expr[1]} {_wrap(expr[3])}"
    if kind == "cond":
        return f"{_wrap(expr[1])} ? {_wrap(expr[2])} : {_wrap(expr[3])}"
    if kind == "sel":
        return f"{_wrap(expr[1])}[{expr_text(expr[2])}:{expr_text(expr[3])}]"
    if kind == "bit":
        return f"{_wrap(expr[1])}[{expr_text(expr[2])}]"
    if kind == "call":
        return f"${expr[1]}({', '.join(expr_text(a) for a in expr[2])})"
    return "?"


def _wrap(expr: Expr) -> str:
    text = expr_text(expr)
    return f"({text})" if expr[0] in ("bin", "cond") else text


def from_pyverilog(node: Any) -> Expr:
    """The Expr of a pyverilog expression node (unknown kinds become `["?", ...]`)."""
    from pyverilog.vparser import ast as va

    binary = {
        va.Plus: "+", va.Minus: "-", va.Times: "*", va.Divide: "/", va.Mod: "%",
        va.Power: "**", va.Sll: "<<", va.Srl: ">>", va.Sla: "<<<", va.Sra: ">>>",
        va.LessThan: "<", va.GreaterThan: ">", va.LessEq: "<=", va.GreaterEq: ">=",
        va.Eq: "==", va.NotEq: "!=", va.Eql: "===", va.NotEql: "!==",
        va.And: "&", va.Or: "|", va.Xor: "^", va.Land: "&&", va.Lor: "||",
    }
    unary = {va.Uminus: "-", va.Uplus: "+", va.Ulnot: "!", va.Unot: "~"}
    if isinstance(node, va.Rvalue):
        return from_pyverilog(node.var)
    if isinstance(node, va.IntConst):
        v = _int_const(node.value)
        return ["int", v] if v is not None else ["?", node.value]
    if isinstance(node, va.Identifier):
        return ["id", node.name]
    if type(node) in binary:
        return ["bin", binary[type(node)], from_pyverilog(node.left), from_pyverilog(node.right)]
    if type(node) in unary:
        return ["un", unary[type(node)], from_pyverilog(node.right)]
    if isinstance(node, va.Cond):
        return ["cond", from_pyverilog(node.cond), from_pyverilog(node.true_value), from_pyverilog(node.false_value)]
    if isinstance(node, va.Partselect):
        return ["sel", from_pyverilog(node.var), from_pyverilog(node.msb), from_pyverilog(node.lsb)]
    if isinstance(node, va.Pointer):
        return ["bit", from_pyverilog(node.var), from_pyverilog(node.ptr)]
    if isinstance(node, va.SystemCall):
        return ["call", node.syscall, [from_pyverilog(a) for a in node.args or ()]]
    return ["?", type(node).__name__]
