"""CPU priority for the benchmark's bulk side, standing in for machines of their own.

Linux schedules each session's processes as one group (autogroup), and the harness starts Trino and the
worker each in a session of its own: a group's nice weighs it against gunicorn's, PostgreSQL's and
locust's groups. Each thread's own nice is set too, for kernels without autogroup.
"""

import contextlib
import os
from pathlib import Path

TRINO_MAIN_CLASS = b"io.trino.server.TrinoServer"


def trino_pids():
    """The local Trino servers (the benchmark's own, or one given by TRINO_HOST on this machine)."""
    return [int(path.parent.name) for path in Path("/proc").glob("[0-9]*/cmdline") if TRINO_MAIN_CLASS in _read(path)]


def lower(pid, nice):
    if not nice:
        return
    autogroup = Path(f"/proc/{pid}/autogroup")
    if autogroup.exists():
        autogroup.write_text(str(nice))
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.setpriority(os.PRIO_PROCESS, int(task.name), nice)


def _read(path):
    try:
        return path.read_bytes()
    except OSError:
        return b""
