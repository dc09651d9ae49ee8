"""`make demo`'s foreground process: the web server and both workers, until Ctrl-C stops them all.

Each child runs in a process group of its own, so the terminal's Ctrl-C reaches only this process,
and the stop is ours to order: SIGTERM to each worker's whole group (runworker ends a running chunk
and queues the request again), SIGINT to the web server, a wait, then SIGKILL to every group still
holding a live process. A cluster's worker can outlive its main process (a stop stuck in django-q2,
a crash); killing the group, not the main process, is what leaves nothing behind to run later.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

POLL = 0.1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Child:
    """One child process, leader of its own process group (its pid is the group id)."""

    def __init__(self, name, argv, env, stop_signal):
        self.name, self.stop_signal = name, stop_signal
        self.process = subprocess.Popen(argv, env=env, start_new_session=True)

    def signal(self, signum):
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.process.pid, signum)

    def alive(self):
        """Whether any process of the group still lives; zombies left for an init that never reaps them do not."""
        self.process.poll()  # reaps the leader
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return live_members(self.process.pid)


def serving(addr):
    try:
        with urllib.request.urlopen(f"http://{addr}/admin/login/", timeout=1):
            return True
    except OSError:
        return False


def live_members(pgid):
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: a group that answers signals is alive
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class Command(BaseCommand):
    help = "Runs the web server and both workers (distribution, notifications) until Ctrl-C (for `make demo`)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=20,
            help="seconds to wait for a graceful stop before killing what is left",
        )

    def handle(self, *args, addr, stop_timeout, **options):
        self.signals = []
        # Handlers first: a Ctrl-C while the children start still stops every child started.
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda signum, frame: self.signals.append(signum))
        # manage.py held these during start-up; one that came meanwhile is delivered now, to the handler.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        children = []
        try:
            for name, argv, env, stop_signal in self._commands(addr):
                if self.signals:
                    break
                children.append(Child(name, argv, env, stop_signal))
            announced = False
            while not self.signals and all(child.process.poll() is None for child in children):
                if not announced and serving(addr):
                    announced = self._announce()
                time.sleep(POLL)
        finally:
            ended = [child.name for child in children if child.process.returncode is not None]
            self._stop(children, stop_timeout)
        if ended:  # e.g. the web server's port is taken
            raise CommandError(f"the {', '.join(ended)} exited on its own; everything else was stopped")

    def _announce(self):
        """The login box, once the web server answers: the last thing on screen after the start-up logs."""
        login = settings.VAR_DIR / "demo-login.txt"
        time.sleep(0.5)  # the web server logs the request that found it up just after answering it
        if login.exists():
            self.stdout.write(login.read_text(), ending="")
        return True

    def _commands(self, addr):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # The workers' start-up and progress lines would push the login box off the screen; warnings still show.
        quiet = {"LOG_LEVEL": "WARNING", **os.environ}
        # DEBUG lets runserver serve the admin's CSS and scripts without collectstatic.
        return [
            ("distribution worker", [*manage, "runworker"], quiet, signal.SIGTERM),
            (
                "notifications worker",
                [*manage, "runworker"],
                {**quiet, "Q_CLUSTER_NAME": "notifications"},
                signal.SIGTERM,
            ),
            ("web server", [*manage, "runserver", addr, "--noreload"], {**os.environ, "DEBUG": "true"}, signal.SIGINT),
        ]

    def _stop(self, children, timeout):
        for child in children:
            child.signal(child.stop_signal)
        deadline = time.monotonic() + timeout
        # A second Ctrl-C means "now": no more waiting for the graceful stop.
        while any(child.alive() for child in children) and time.monotonic() < deadline and len(self.signals) < 2:
            time.sleep(POLL)
        for child in children:
            if child.alive():
                self.stderr.write(f"rundemo: the {child.name} did not stop in time; killing its processes")
                child.signal(signal.SIGKILL)
        for child in children:
            child.process.wait()
