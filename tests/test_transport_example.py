"""The transport example's output is deterministic and matches its golden log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_router_two_memories_matches_its_golden_output() -> None:
    """examples/router_two_memories.py prints exactly router_two_memories.out."""
    script = EXAMPLES / "router_two_memories.py"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True,
                            timeout=120)
    assert result.stderr == ""
    assert result.stdout == (EXAMPLES / "router_two_memories.out").read_text()
