"""Named points of a run where the crash tests make the worker die, to prove a resume is exact.

`COUPONOPS_FAILPOINT=<name>[@<n>]` (tests only; empty in production) kills the whole worker cluster
with SIGKILL the n-th time the run passes <name>, the way a power cut or the OOM killer would: no
handler, no cleanup, no rollback but the database's own.
"""

import os
import signal

from django.conf import settings

_passes: dict[str, int] = {}


def failpoint(name):
    spec = settings.COUPONOPS_FAILPOINT
    point, _, nth = spec.partition("@")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.killpg(os.getpgrp(), signal.SIGKILL)
