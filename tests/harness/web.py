"""Runs the project under a real gunicorn (several worker processes) against the test database.

    with gunicorn(process_env(), tmp_path / "gunicorn.log") as server:
        requests.get(server.url + "/api/v1/openapi.json")

The server sees only committed data (use `django_db(transaction=True)`), as the worker does.
"""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from .cluster import ROOT
from .postgres import free_port

READY_PATH = "/api/v1/openapi.json"


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen


@contextmanager
def gunicorn(env, log_path, *, workers=4, timeout=60, access_log=None):
    """A gunicorn serving couponops on a free loopback port; stopped (SIGTERM, then SIGKILL) on exit. With
    `access_log`, each answered request is written there as `METHOD PATH MICROSECONDS` (the time gunicorn's
    worker spent on it, its wait in the listen queue not included)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "couponops.wsgi",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "10",
        "--log-level",
        "warning",
    ]
    if access_log is not None:
        command += ["--access-logfile", str(access_log), "--access-logformat", "%(m)s %(U)s %(D)s"]
    env = {"CONN_MAX_AGE": "60", **env}  # as the systemd unit runs it
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        _wait_until_serving(server, Path(log_path), timeout)
        yield server
    finally:
        _stop(process)


def _wait_until_serving(server, log_path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(server.url + READY_PATH, timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or busy starting its workers
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout}s:\n{log_path.read_text()[-3000:]}")


def _stop(process):
    if process.poll() is not None:
        return
    process.terminate()  # the arbiter stops its workers gracefully
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
