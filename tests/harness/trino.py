"""A real Trino server for tests and benchmarks, without Docker.

The release is fetched from Maven Central with `mvn dependency:copy` into a cache outside the
repository (COUPONOPS_CACHE, default ~/.cache/couponops), unpacked once, and started on a JDK under
/usr/lib/jvm with a fresh configuration: a `memory` catalog for hand-made tables and `tpch` for
large ones.

    python -m tests.harness.trino fetch     # download and unpack (what .ci/run does)
    python -m tests.harness.trino serve     # start one and keep it running (benchmarks, by hand)
    python -m tests.harness.trino serve --spooling-s3 http://127.0.0.1:PORT   # the same, spooling on
"""

import base64
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import trino

from .postgres import free_port

PLUGINS = ("trino-tpch", "trino-memory")
# The newest release that runs on each Java: 476 needs 24 (the last one on Maven Central as a
# server-core tarball and plugin zips); older JDKs get an older Trino.
RELEASES_BY_JAVA = ((24, "476"), (23, "468"), (22, "446"), (21, "435"), (17, "390"))


class TrinoUnavailable(Exception):
    pass


def cache_dir():
    return Path(os.environ.get("COUPONOPS_CACHE", Path.home() / ".cache" / "couponops"))


def java_major(java_home):
    result = subprocess.run([str(Path(java_home) / "bin" / "java"), "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)', result.stderr)
    return int(match.group(1)) if match else 0


def pick_jdk():
    """(java_home, release): the newest JDK under /usr/lib/jvm and the newest Trino it runs."""
    homes = [Path(p).parent.parent for p in glob.glob("/usr/lib/jvm/*/bin/java")]
    versions = sorted(((java_major(home), str(home)) for home in homes), reverse=True)
    for major, home in versions:
        for needed, release in RELEASES_BY_JAVA:
            if major >= needed:
                return home, release
    raise TrinoUnavailable("no JDK 17 or newer under /usr/lib/jvm")


def fetch(release):
    """Downloads the server tarball and plugin zips into the cache, once."""
    target = cache_dir() / f"trino-{release}"
    target.mkdir(parents=True, exist_ok=True)
    artifacts = [("trino-server-core", "tar.gz")] + [(name, "zip") for name in PLUGINS]
    for artifact, packaging in artifacts:
        if not (target / f"{artifact}-{release}.{packaging}").exists():
            _mvn_copy(f"io.trino:{artifact}:{release}:{packaging}", target)
    return target


def _mvn_copy(coordinates, target):
    if shutil.which("mvn") is None:
        raise TrinoUnavailable("Maven (mvn) is not installed; it fetches Trino from Maven Central")
    command = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={coordinates}", f"-DoutputDirectory={target}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        raise TrinoUnavailable(f"could not fetch {coordinates}: {result.stdout[-2000:]}")


def install(release):
    """The unpacked server directory with its plugins, built from the cache once."""
    downloads = fetch(release)
    server = downloads / "server"
    if (server / "bin" / "launcher").exists():
        return server
    staging = Path(tempfile.mkdtemp(dir=downloads))
    with tarfile.open(downloads / f"trino-server-core-{release}.tar.gz") as archive:
        archive.extractall(staging, filter="tar")
    unpacked = next(staging.iterdir())
    for name in PLUGINS:
        with zipfile.ZipFile(downloads / f"{name}-{release}.zip") as archive:
            archive.extractall(unpacked / "plugin")
    _restore_modes(unpacked)
    unpacked.rename(server)
    shutil.rmtree(staging)
    return server


def _restore_modes(server):
    for launcher in (server / "bin").rglob("*"):
        if launcher.is_file():
            launcher.chmod(0o755)


CONFIG = {
    "node.properties": "node.environment=test\nnode.id=couponops-test\nnode.data-dir={data}\n",
    "jvm.config": "-server\n-Xmx{heap}\n-XX:+UseG1GC\n-XX:+ExitOnOutOfMemoryError\n-Djdk.attach.allowAttachSelf=true\n",
    "config.properties": (
        "coordinator=true\nnode-scheduler.include-coordinator=true\nhttp-server.http.port={port}\n"
        "discovery.uri=http://127.0.0.1:{port}\nquery.max-memory={query_gb}GB\nquery.max-memory-per-node={query_gb}GB\n"
    ),
    "catalog/memory.properties": "connector.name=memory\nmemory.max-data-per-node={query_gb}GB\n",
    "catalog/tpch.properties": "connector.name=tpch\n",
    # File-based access control: the user `outsider` sees tpch.sf1.customer but may not read it, so
    # a permission error can be tested; everyone else may do everything.
    "access-control.properties": "access-control.name=file\nsecurity.config-file={etc}/rules.json\n",
    "rules.json": (
        '{{"tables": [{{"user": "outsider", "catalog": "tpch", "schema": "sf1", "table": "customer", '
        '"privileges": ["INSERT"]}}, {{"privileges": ["SELECT", "INSERT", "DELETE", "UPDATE", "OWNERSHIP", '
        '"GRANT_SELECT"]}}], "procedures": [{{"privileges": ["EXECUTE", "GRANT_EXECUTE"]}}]}}\n'
    ),
}


def spooling_config(s3_endpoint, bucket="spooling"):
    """The files that turn on Trino's spooling protocol, its segments in an S3 bucket at `s3_endpoint`.
    Trino 476's spooling manager knows S3, GCS and Azure only (no local file system), so a local S3
    store serves: `moto_server` does (bench and by hand; the bucket must exist)."""
    key = base64.b64encode(os.urandom(32)).decode()
    return {
        "config.properties": f"protocol.spooling.enabled=true\nprotocol.spooling.shared-secret-key={key}\n",
        "spooling-manager.properties": (
            f"spooling-manager.name=filesystem\nfs.s3.enabled=true\nfs.location=s3://{bucket}/\n"
            f"s3.endpoint={s3_endpoint}\ns3.region=us-east-1\ns3.aws-access-key=local\n"
            "s3.aws-secret-key=local\ns3.path-style-access=true\n"
        ),
    }


class TrinoServer:
    def __init__(self, *, heap=None, spooling_s3=None):
        self.java_home, self.release = pick_jdk()
        self.server = install(self.release)
        self.root = Path(tempfile.mkdtemp(prefix="couponops-trino-"))
        self.port = free_port()
        # TRINO_HEAP: 3G holds a 30M audience's preview (make bench-scale); more for larger ones. A query may
        # use two thirds of the heap, the rest is Trino's own.
        self.heap = heap or os.environ.get("TRINO_HEAP", "3G")
        self.process = None
        self.extra_config = spooling_config(spooling_s3) if spooling_s3 else {}

    @classmethod
    def running_at(cls, port):
        """A server someone else started and keeps (`serve`), shared by several test runs on one machine:
        tests name their tables by process, so runs do not meet. Stopping it is left to its owner."""
        server = cls.__new__(cls)
        server.port, server.process, server.root = int(port), None, None
        server.execute("SELECT count(*) FROM tpch.tiny.nation")
        return server

    @property
    def log_path(self):
        return self.root / "server.log"

    def start(self, timeout=240):
        self._write_config()
        environment = {**os.environ, "JAVA_HOME": self.java_home, "PATH": f"{self.java_home}/bin:{os.environ['PATH']}"}
        command = [
            str(self.server / "bin" / "launcher"),
            "run",
            f"--etc-dir={self.root / 'etc'}",
            f"--data-dir={self.root / 'data'}",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True
            )
        self._wait_ready(timeout)
        return self

    def _write_config(self):
        query_gb = max(1, int(self.heap.rstrip("Gg")) * 2 // 3)
        values = {
            "port": self.port,
            "data": self.root / "data",
            "heap": self.heap,
            "etc": self.root / "etc",
            "query_gb": query_gb,
        }
        for name, template in CONFIG.items():
            path = self.root / "etc" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(template.format(**values) + self.extra_config.get(name, ""))
        for name, text in self.extra_config.items():
            if name not in CONFIG:
                (self.root / "etc" / name).write_text(text)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TrinoUnavailable(f"Trino exited early; see {self.log_path}:\n{self._log_tail()}")
            try:
                # SELECT 1 answers before the worker side has registered; a table scan does not.
                self.execute("SELECT count(*) FROM tpch.tiny.nation")
                return
            except Exception:
                time.sleep(1)
        self.stop()
        raise TrinoUnavailable(f"Trino did not answer a query within {timeout}s:\n{self._log_tail()}")

    def _log_tail(self):
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def connect(self):
        return trino.dbapi.connect(host="127.0.0.1", port=self.port, user="test", request_timeout=120)

    def execute(self, sql, params=None):
        """Runs one statement and returns all its rows."""
        connection = self.connect()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            connection.close()

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


def main(argv):
    if argv[:1] == ["fetch"]:
        java_home, release = pick_jdk()
        print(f"Trino {release} for {java_home}: {install(release)}")
    elif argv[:1] == ["serve"]:
        # serve --spooling-s3 http://127.0.0.1:PORT: with the spooling protocol, segments in that S3 store.
        s3 = argv[2] if argv[1:2] == ["--spooling-s3"] else None
        server = TrinoServer(spooling_s3=s3).start()
        print(f"Trino {server.release} on 127.0.0.1:{server.port} (Ctrl-C stops it)", flush=True)
        try:
            server.process.wait()
        except KeyboardInterrupt:
            server.stop()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
