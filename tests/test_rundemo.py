"""Ctrl-C stops everything `make demo` started, at any moment, and nothing runs after it.

`manage.py rundemo` runs for real on the demo's own parts (a SQLite file, a DuckDB warehouse) and is
stopped again and again: while its children start, idle, in the middle of a distribution, right
after one. Every process it starts carries a marker in its environment; after each stop, no live
process with the marker may be left anywhere on the machine, and a distribution queued from the
command line afterwards is not picked up by anything.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from distribution.management.commands.rundemo import serving
from tests.harness.postgres import free_port

ROOT = Path(__file__).resolve().parents[1]
MARK = "COUPONOPS_RUNDEMO_MARK"
# Processes are found through /proc (their environment carries the marker).
pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A migrated SQLite demo with a coupon, and a DuckDB warehouse of 150,000 and 2,000 members."""
    home = tmp_path_factory.mktemp("demo")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "Q_", "DJANGO_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{home / 'demo.sqlite3'}",
        DEMO_DUCKDB_PATH=str(home / "demo.duckdb"),
        Q_POLL="0.1",
        DISTRIBUTION_CHUNK_SIZE="10000",
        PYTHONUNBUFFERED="1",
        DEMO_PASSWORD="demo-password",
    )
    with duckdb.connect(env["DEMO_DUCKDB_PATH"]) as warehouse:
        warehouse.execute("CREATE TABLE members AS SELECT 1000000 + i AS member_id FROM range(150000) t(i)")
        warehouse.execute("CREATE TABLE few AS SELECT i AS member_id FROM range(1, 2001) t(i)")
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "setup_demo")  # as `make demo` does: queues the 150,000-member distribution
    return env, home / "demo.sqlite3"


def manage(env, *args):
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def queue_from_the_command_line(env, table, coupon="WELCOME10"):
    manage(
        env,
        "distribute",
        "--coupon",
        coupon,
        "--source",
        "demo",
        "--table",
        f"demo.main.{table}",
        "--column",
        "member_id",
        "--memo",
        "from the command line",
    )


def new_coupon(env, code):
    manage(
        env,
        "shell",
        "-c",
        f"from distribution.models import Coupon; Coupon.objects.create(name='{code}', "
        f"code='{code}', discount_kind='percent', discount_amount=5, valid_days=7)",
    )


def query(database, sql):
    with sqlite3.connect(database, timeout=30) as connection:
        return connection.execute(sql).fetchall()


def issued(database):
    return query(database, "SELECT count(*) FROM distribution_issuedcoupon")[0][0]


def statuses(database):
    return [status for (status,) in query(database, "SELECT status FROM distribution_distributionrequest ORDER BY id")]


class Demo:
    """One `manage.py rundemo`, started as a terminal starts it: the leader of its own process group."""

    def __init__(self, env, log, stop_timeout=15):
        self.mark, self.port = uuid.uuid4().hex, free_port()
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "rundemo",
                    "--addr",
                    f"127.0.0.1:{self.port}",
                    "--stop-timeout",
                    str(stop_timeout),
                ],
                cwd=ROOT,
                env={**env, MARK: self.mark},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=as_a_terminal_starts_it,
            )

    def ctrl_c(self):
        os.killpg(self.process.pid, signal.SIGINT)  # the terminal signals its foreground group
        return self._ended()

    def terminate(self):
        self.process.terminate()
        return self._ended()

    def _ended(self):
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"rundemo did not stop; its log:\n{Path(self.log).read_text()}")
        return Path(self.log).read_text()

    def serving(self):
        return serving(f"127.0.0.1:{self.port}")

    def left_behind(self):
        return [pid for pid, environ in processes() if f"{MARK}={self.mark}".encode() in environ]

    def distribution_cluster(self):
        """The pid of the distribution worker's main process (rundemo's child), once it runs."""
        for pid, environ in processes():
            if (
                parent_of(pid) == self.process.pid
                and b"runworker" in Path(f"/proc/{pid}/cmdline").read_bytes()
                and b"Q_CLUSTER_NAME=notifications" not in environ
            ):
                return pid
        return None


def as_a_terminal_starts_it():
    """Stop signals at their defaults, as an interactive shell leaves them for a foreground job.

    A process inherits ignored signals: under a parent that ignores SIGINT (a CI runner, `nohup`, a
    non-interactive shell's `&`), a Ctrl-C that comes before manage.py's first line is discarded by the
    kernel, before any of our code runs — the demo then went on and the test failed by chance."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def processes():
    """(pid, environment) of every live process this user may read; zombies hold nothing."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if state != "Z":
            yield int(entry.name), environ.replace(b"\0", b"\n")


def parent_of(pid):
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def until(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the demo never got there"
        time.sleep(0.1)


def stopped_cleanly(demo_run, stop):
    log = stop()
    assert demo_run.left_behind() == [], log
    return log


def test_ctrl_c_leaves_no_process_behind_at_any_moment(demo, tmp_path):
    env, database = demo
    logs = iter(tmp_path / f"rundemo-{n}.log" for n in range(100))

    # Right after start, while the children are still being started or are starting up.
    for delay in (0, 0.4, 1.2, 2.5):
        run = Demo(env, next(logs))
        time.sleep(delay)
        stopped_cleanly(run, run.ctrl_c)

    # In the middle of the queued distribution: the chunk commits, the distribution goes back to the queue.
    before = issued(database)
    run = Demo(env, next(logs))
    until(lambda: issued(database) >= before + 20_000)
    stopped_cleanly(run, run.ctrl_c)
    assert statuses(database) == ["queued"]
    after_stop = issued(database)

    # The case: queued from the command line after the stop, nothing may pick it up.
    queue_from_the_command_line(env, "few")
    time.sleep(2)
    assert (issued(database), statuses(database)) == (after_stop, ["queued", "queued"])

    # The next start resumes both and finishes them; stopped right after, by SIGTERM this time.
    run = Demo(env, next(logs))
    until(lambda: statuses(database) == ["succeeded", "succeeded"], timeout=90)
    stopped_cleanly(run, run.terminate)
    assert issued(database) == 152_000

    # Idle, with the web server answering.
    run = Demo(env, next(logs))
    until(run.serving)
    stopped_cleanly(run, run.ctrl_c)

    # A queued distribution that ends at once (one chunk): stop right after. (One that would issue nothing
    # cannot be confirmed any more: every member of `few` holds WELCOME10.)
    new_coupon(env, "THIRD")
    queue_from_the_command_line(env, "few", coupon="THIRD")
    run = Demo(env, next(logs))
    until(lambda: statuses(database)[-1] == "succeeded")
    stopped_cleanly(run, run.ctrl_c)
    assert issued(database) == 154_000

    # The case: a cluster whose stop hangs (here its main process frozen) while its worker runs
    # a distribution. Killing only the main process left the worker to run a distribution queued later;
    # the whole group is killed after the timeout instead.
    new_coupon(env, "SECOND")
    manage(
        env,
        "distribute",
        "--coupon",
        "SECOND",
        "--source",
        "demo",
        "--table",
        "demo.main.members",
        "--column",
        "member_id",
    )
    before = issued(database)
    run = Demo(env, next(logs), stop_timeout=3)
    until(lambda: issued(database) >= before + 20_000)
    os.kill(run.distribution_cluster(), signal.SIGSTOP)
    log = stopped_cleanly(run, run.ctrl_c)
    assert "the distribution worker did not stop in time" in log
    after_stop = issued(database)
    queue_from_the_command_line(env, "few", coupon="SECOND")
    time.sleep(2)
    assert issued(database) == after_stop and statuses(database)[-1] == "queued"


def test_a_second_setup_queues_nothing_more(demo):
    env, database = demo
    before = statuses(database)
    out = manage(env, "setup_demo")
    assert statuses(database) == before and "Request #1 (" in out
    assert "nothing queued" in out or "goes on from there" in out


def test_the_login_is_the_last_thing_on_screen(demo, tmp_path):
    env, _ = demo
    run = Demo(env, tmp_path / "rundemo.log")
    until(lambda: "Password  demo-password" in Path(run.log).read_text())
    time.sleep(2)  # whatever the start-up would print after it
    screen = Path(run.log).read_text()
    stopped_cleanly(run, run.ctrl_c)
    assert screen.rstrip().endswith("╝"), screen[-2000:]
