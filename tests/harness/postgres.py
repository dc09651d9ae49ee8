"""A throwaway PostgreSQL cluster started from the machine's own binaries.

Used by the test suite and the benchmarks when no DATABASE_URL is given. Everything lives in a
temporary directory that is removed on stop.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

# Settings for a disposable cluster: durability is worth nothing in a test run.
FAST_OPTIONS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def find_bin_dir():
    """The directory of pg_ctl and initdb: on PATH, else the newest under /usr/lib/postgresql."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    def __init__(self, bin_dir, *, options=None):
        self.bin_dir = Path(bin_dir)
        self.options = {**FAST_OPTIONS, **(options or {})}
        self.root = Path(tempfile.mkdtemp(prefix="couponops-pg-"))
        self.data = self.root / "data"
        self.port = free_port()

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/couponops"

    def start(self):
        self._own_root()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
        settings = " ".join(f"-c {key}={value}" for key, value in self.options.items())
        server_options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 {settings}"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", server_options, "-w", "start"
        )
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "couponops")
        return self

    def restart(self):
        """A fast restart, as an operator's: every connection is cut, the server back in a second or two."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-m", "fast", "-w", "restart")

    def stop(self):
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _own_root(self):
        # initdb refuses to run as root; as root we run the server as the `postgres` user.
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, program, *args):
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120, cwd=self.root)


class Standby(PostgresCluster):
    """A streaming standby of a running PostgresCluster, on a port of its own: PostgreSQL's own replication.

    `pg_basebackup -R -X stream` copies the primary and writes the standby's connection settings (initdb's
    pg_hba.conf trusts replication from loopback, and wal_level=replica is the default); started, it
    replays the primary's WAL as it streams in and answers read-only queries."""

    def __init__(self, primary):
        super().__init__(primary.bin_dir, options=primary.options)
        self.primary = primary

    def start(self):
        self._own_root()
        # A fast checkpoint: the default spreads it over checkpoint_timeout, minutes of waiting.
        self._run("pg_basebackup", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", *self._primary_address())
        settings = " ".join(f"-c {key}={value}" for key, value in self.options.items())
        server_options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c hot_standby=on {settings}"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", server_options, "-w", "start"
        )
        return self

    def _primary_address(self):
        return ["-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"]


def start_throwaway(options=None):
    """A started cluster, or (None, reason) when the machine has no PostgreSQL binaries."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        return None, "no PostgreSQL binaries (pg_ctl, initdb) found; `apt-get install postgresql`"
    cluster = PostgresCluster(bin_dir, options=options)
    try:
        return cluster.start(), None
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        cluster.stop()
        return None, f"PostgreSQL did not start: {exc} {detail.decode(errors='replace')}"
