"""Run a command that dies with its parent: ``python _pdeathsig.py CMD ARGS...``.

Linux only (prctl PR_SET_PDEATHSIG through ctypes): the simulator gets
SIGKILL when the process that started it ends, even by SIGKILL, so no `vvp`
outlives `tlmsim`. Elsewhere the command is run as is. Standard library only:
it runs with ``python -S -I``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:  # the parent ended before prctl took effect
            sys.exit(137)
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
