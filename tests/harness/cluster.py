"""Runs the real worker (`manage.py runworker`, django-q2's qcluster) as a separate process against the test database."""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url():
    """The URL of the database the tests are using right now (the test database)."""
    s = connection.settings_dict
    credentials = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{credentials}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def process_env(**extra):
    env = {**os.environ, "DATABASE_URL": database_url(), "Q_POLL": "0.1", "PYTHONUNBUFFERED": "1"}
    env.update({key: str(value) for key, value in extra.items()})
    return env


def manage(*args, env, **kwargs):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, **kwargs
    )


@contextmanager
def qcluster(env, log_path):
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runworker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        # SIGTERM to the cluster's main process only: it stops its own workers. Signalling the
        # whole group makes the workers die under it and the main process wait forever.
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
