"""`python -m jepa_server.die_with_parent PID -- COMMAND...`: exec COMMAND so that Linux kills it
(SIGKILL) when the process PID that started it dies, however it dies. `jepa-serve up` starts
tritonserver through this: a SIGKILLed `up` used to leave tritonserver and its python-backend stubs
running with their memory, one more after every crash and restart. The gateway's decode workers
call `die_with` themselves: their pool never tells them that a SIGKILLed gateway is gone.

Linux delivers the signal when the *thread* that spawned the child ends, so the launcher must not
be a short-lived thread (LocalTriton starts from the thread that then serves). Elsewhere than Linux
the command just runs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> bool:
    """Have Linux SIGKILL this process when `parent` (the thread of it that started this one) dies;
    False when it has died already (before the request took effect)."""
    if not sys.platform.startswith("linux"):
        return True
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    return os.getppid() == parent


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m jepa_server.die_with_parent PID -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    parent, command = int(argv[0]), argv[2:]
    if not die_with(parent):
        return 1
    os.execv(command[0], command)  # replaces this process: no return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
