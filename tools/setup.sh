#!/usr/bin/env bash
# Create the virtualenv, install tlmsim with its extras, and make sure Icarus
# Verilog is there (installed through apt-get when missing and we are root).
set -euo pipefail
PY="${1:-python3}"
VENV="${2:-.venv}"

if ! command -v iverilog >/dev/null 2>&1 || ! command -v vvp >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing Icarus Verilog with apt-get" >&2
        apt-get update -qq >/dev/null && apt-get install -y -qq iverilog >/dev/null
    else
        echo "setup: Icarus Verilog (iverilog, vvp) is missing: install it with 'sudo apt-get install iverilog'" >&2
        exit 1
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
echo "setup: installing tlmsim and its dependencies into $VENV (log: $VENV/install.log)" >&2
if ! { "$VENV/bin/python" -m pip install --upgrade pip &&
       "$VENV/bin/python" -m pip install -e ".[dev,rtl,dse,onnx]"; } >"$VENV/install.log" 2>&1; then
    tail -n 30 "$VENV/install.log" >&2
    echo "setup: pip install failed (full log: $VENV/install.log)" >&2
    exit 1
fi
