import itertools
import os
from pathlib import Path

import duckdb
import pytest
from django.db import connection
from django.utils import translation

from distribution.models import Coupon
from tests.harness.slack import FakeSlack
from tests.harness.trino import TrinoServer, TrinoUnavailable

REQUIRE_INTEGRATION = os.environ.get("REQUIRE_INTEGRATION") == "1"
_names = itertools.count(1)


def unavailable(reason):
    """Skips a test whose real dependency is missing, or fails it when CI requires integration."""
    if REQUIRE_INTEGRATION:
        pytest.fail(f"REQUIRE_INTEGRATION=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def site_language(settings):
    """Each test starts in the site's language: the test client's requests run on this thread, and
    LocaleMiddleware leaves the last one's language (a Korean page's) active after it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        unavailable(os.environ.get("COUPONOPS_POSTGRES_MISSING", "the database is not PostgreSQL"))


@pytest.fixture(scope="session")
def trino_server():
    try:
        shared = os.environ.get("TRINO_TEST_PORT")  # one server for several test runs (developers' machines)
        server = TrinoServer.running_at(shared) if shared else TrinoServer().start()
    except TrinoUnavailable as exc:
        unavailable(f"no Trino server: {exc}")
    yield server
    server.stop()


@pytest.fixture
def warehouse(trino_server, settings):
    """The `warehouse` source pointed at the test Trino server."""
    settings.COUPONOPS_SOURCES = {
        **settings.COUPONOPS_SOURCES,
        "warehouse": {"kind": "trino", "host": "127.0.0.1", "port": trino_server.port, "user": "test"},
    }
    return trino_server


@pytest.fixture
def memory_table(warehouse):
    """Creates memory.default tables from SQL `SELECT`s; returns their catalog.schema.table names."""
    created = []

    def create(select_sql, prefix="audience"):
        name = f"{prefix}_{next(_names)}_{os.getpid()}"
        warehouse.execute(f"CREATE TABLE memory.default.{name} AS {select_sql}")
        created.append(name)
        return f"memory.default.{name}"

    yield create
    for name in created:
        warehouse.execute(f"DROP TABLE IF EXISTS memory.default.{name}")


@pytest.fixture
def duckdb_source(tmp_path, settings):
    """A `demo` DuckDB source in a temporary file; call it with SQL to run against the file."""
    path = Path(tmp_path) / "warehouse.duckdb"
    settings.COUPONOPS_SOURCES = {**settings.COUPONOPS_SOURCES, "demo": {"kind": "duckdb", "path": str(path)}}

    def run(sql):
        with duckdb.connect(str(path)) as con:
            con.execute(sql)

    run("SELECT 1")
    return run


# The machine's Chromium (Debian package); Playwright's own browser download is not possible here.
# Without the background-networking flags Chromium keeps dialling Google, which the closed
# network refuses.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(path):
        unavailable(f"no Chromium at {path} (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_FLAGS}


@pytest.fixture
def coupon(db):
    return Coupon.objects.create(
        name="Spring 10%", code="SPRING10", discount_kind="percent", discount_amount=10, valid_days=14
    )


@pytest.fixture
def members(duckdb_source):
    """50 members (ids 1–50) in the demo source's `warehouse.main.members`."""
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id, 'x' AS name FROM range(1, 51) t(i)")
    return "warehouse.main.members"


@pytest.fixture
def marketer(client, staff_user):
    """The test client, logged in as the staff user."""
    client.force_login(staff_user)
    return client


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_superuser("marketer", "marketer@example.com", "pw-for-tests-only")


@pytest.fixture
def fake_slack():
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.fixture
def slack_webhook(fake_slack, settings):
    settings.SLACK_WEBHOOK_URL, settings.SLACK_TIMEOUT = fake_slack.webhook_url, 2
    return fake_slack


@pytest.fixture
def slack_bot(fake_slack, settings):
    settings.SLACK_WEBHOOK_URL, settings.SLACK_TIMEOUT = "", 2
    settings.SLACK_BOT_TOKEN, settings.SLACK_CHANNEL, settings.SLACK_API_URL = (
        "xoxb-test",
        "#coupons",
        fake_slack.api_url,
    )
    return fake_slack
