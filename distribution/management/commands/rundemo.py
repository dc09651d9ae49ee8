import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Runs the web server and both workers (distribution, notifications) until Ctrl-C (for `make demo`)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # DEBUG lets runserver serve the admin's CSS and scripts without collectstatic.
        web_env = {**os.environ, "DEBUG": "true"}
        processes = [
            subprocess.Popen([*manage, "runworker"]),
            subprocess.Popen([*manage, "runworker"], env={**os.environ, "Q_CLUSTER_NAME": "notifications"}),
            subprocess.Popen([*manage, "runserver", addr, "--noreload"], env=web_env),
        ]
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(processes)

    def _stop(self, processes):
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
