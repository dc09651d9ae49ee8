"""What was confirmed is what runs: a table changed after its preview stops the run before the first coupon
(or before the confirmed count is passed), says what changed, and only a fresh preview goes on."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon
from distribution.signals import Event, distribution_audience_changed
from distribution.sources import get_source
from distribution.writers import get_writer
from notifications.messages import render
from tests.helpers import by

Status = DistributionRequest.Status
Action = "audience_changed"


def ids(low, high):
    return f"SELECT CAST(x AS BIGINT) AS user_id FROM UNNEST(sequence({low}, {high})) t(x)"


@pytest.fixture
def run_queue(django_capture_on_commit_callbacks):
    def run(distribution):
        with django_capture_on_commit_callbacks(execute=True):
            services.distribution_run_queue()
        distribution.refresh_from_db()

    return run


@pytest.fixture
def announced():
    received = []

    def receiver(sender, distribution, **kwargs):
        received.append(distribution.pk)

    distribution_audience_changed.connect(receiver)
    yield received
    distribution_audience_changed.disconnect(receiver)


def submit(coupon, table, source="warehouse", user=None):
    return services.distribution_submit(
        actor=by(user),
        distribution=DistributionRequest(
            coupon=coupon, source=source, table=table, column="user_id", memo="audience test"
        ),
    )


def replace_table(warehouse, table, select_sql):
    warehouse.execute(f"DROP TABLE {table}")
    warehouse.execute(f"CREATE TABLE {table} AS {select_sql}")


def audience_checks(warehouse, table, since):
    """The texts of the aggregate queries over `table` (a run's checks of its audience) since `since`."""
    sql = (
        "SELECT query FROM system.runtime.queries WHERE query LIKE ? AND query LIKE '%COUNT(id)%' "
        "AND query NOT LIKE '%system.runtime%' AND created >= ? ORDER BY created"
    )
    return [row[0] for row in warehouse.execute(sql, [f"%{table.split('.')[-1]}%", since])]


def assert_stopped(distribution, message, *, issued, announced):
    assert distribution.status == Status.AUDIENCE_CHANGED
    assert message in distribution.error_message and "preview it again" in distribution.error_message
    assert distribution.issued_count == issued == IssuedCoupon.objects.filter(coupon=distribution.coupon).count()
    assert distribution.transitions.filter(action=Action, actor_kind="worker").exists()
    assert announced == [distribution.pk]


@pytest.mark.integration
class TestOnTrino:
    @pytest.mark.parametrize(
        "change, message",
        [
            ("INSERT INTO {table} " + ids(181, 2400), "The table now has 2,400 members; you confirmed 180."),
            ("DROP", "The table now has 100 members; you confirmed 180."),
            ("OTHER", "same number of members as you confirmed (180), but other members"),
        ],
        ids=["grown", "shrunk", "same-size-other-members"],
    )
    def test_a_table_changed_after_the_preview_issues_nothing_and_says_what_changed(
        self, change, message, run_queue, announced, postgres, warehouse, memory_table, coupon
    ):
        table = memory_table(ids(1, 180))
        distribution = submit(coupon, table)
        if change == "DROP":
            replace_table(warehouse, table, ids(1, 100))
        elif change == "OTHER":
            replace_table(warehouse, table, ids(2, 181))
        else:
            warehouse.execute(change.format(table=table))
        run_queue(distribution)
        assert_stopped(distribution, message, issued=0, announced=announced)
        assert "Nothing more was issued (0 issued and 0 re-issued before)" in distribution.error_message

    def test_duplicates_invalid_rows_and_row_order_are_not_a_change(
        self, run_queue, postgres, warehouse, memory_table, coupon
    ):
        table = memory_table(ids(1, 180))
        distribution = submit(coupon, table)
        replace_table(
            warehouse,
            table,
            "SELECT * FROM (SELECT user_id FROM (" + ids(1, 180) + ") UNION ALL "
            "SELECT * FROM (VALUES BIGINT '5', 7, NULL, 0, -3) v(user_id)) ORDER BY user_id DESC",
        )
        run_queue(distribution)
        assert (distribution.status, distribution.issued_count) == (Status.SUCCEEDED, 180)

    def test_an_unchanged_table_is_checked_by_one_scan_without_grouping(
        self, run_queue, postgres, warehouse, memory_table, coupon
    ):
        """The same rows as at preview are the same members: the run never groups the ids again (3 s of
        Trino's CPU at 10,000,000 ids, before the first coupon)."""
        table = memory_table(ids(1, 180) + " UNION ALL SELECT BIGINT '7'")
        distribution = submit(coupon, table)
        since = warehouse.execute("SELECT current_timestamp")[0][0]
        run_queue(distribution)
        assert (distribution.status, distribution.issued_count) == (Status.SUCCEEDED, 180)
        checks = audience_checks(warehouse, table, since)
        assert len(checks) == 1 and "valid_rows" in checks[0] and "GROUP BY" not in checks[0]

    def test_other_rows_of_the_same_members_take_the_distinct_check_and_run(
        self, run_queue, postgres, warehouse, memory_table, coupon
    ):
        """One duplicate swapped for another: as many rows as before, other rows, the same members."""
        table = memory_table(ids(1, 180) + " UNION ALL SELECT BIGINT '7'")
        distribution = submit(coupon, table)
        replace_table(warehouse, table, ids(1, 180) + " UNION ALL SELECT BIGINT '9'")
        since = warehouse.execute("SELECT current_timestamp")[0][0]
        run_queue(distribution)
        assert (distribution.status, distribution.issued_count) == (Status.SUCCEEDED, 180)
        assert any("GROUP BY" in query for query in audience_checks(warehouse, table, since))

    def test_a_request_previewed_before_the_rows_check_is_checked_as_before(
        self, run_queue, announced, postgres, warehouse, memory_table, coupon
    ):
        table = memory_table(ids(1, 180))
        distribution = submit(coupon, table)
        DistributionRequest.objects.filter(pk=distribution.pk).update(audience_rows_fingerprint="")
        replace_table(warehouse, table, ids(2, 181))
        run_queue(distribution)
        assert_stopped(distribution, "but other members", issued=0, announced=announced)

    def test_only_a_fresh_preview_and_confirm_go_on_and_the_rerun_skips_what_was_issued(
        self, run_queue, announced, postgres, warehouse, memory_table, coupon, settings, staff_user
    ):
        settings.DISTRIBUTION_CHUNK_SIZE = 50
        table = memory_table(ids(1, 180))
        distribution = submit(coupon, table, user=staff_user)
        claimed = services.distribution_claim_next()
        source = get_source("warehouse")
        batches = source.read(source.resolve(table, "user_id"), after=None, batch_size=50)
        services.distribution_issue_chunk(distribution=claimed, writer=get_writer(), user_ids=next(batches), elapsed=0)
        batches.close()  # the worker dies after one chunk; the watchdog queues it again
        DistributionRequest.objects.filter(pk=distribution.pk).update(status=Status.QUEUED)
        warehouse.execute(f"INSERT INTO {table} {ids(181, 240)}")

        run_queue(distribution)  # the resumed run checks the audience before its first coupon
        assert_stopped(
            distribution, "The table now has 240 members; you confirmed 180.", issued=50, announced=announced
        )
        assert "50 issued and 0 re-issued before" in distribution.error_message
        assert services.distribution_retry(distribution=distribution, actor=by(staff_user)) is False

        assert services.distribution_preview_again(distribution=distribution, actor=by(staff_user))
        assert (
            distribution.status,
            distribution.target_count,
            distribution.held_count,
            distribution.would_issue,
            distribution.read_count,
            distribution.checkpoint,
        ) == (Status.DRAFT, 240, 50, 190, 0, None)
        assert distribution.transitions.filter(action="previewed_again").get().details["before"] == {
            "targets": 180,
            "read": 50,
            "skipped": 0,
        }
        run_queue(distribution)
        assert distribution.status == Status.DRAFT  # a draft never runs: its requester confirms it first
        services.distribution_confirm(distribution=distribution, actor=by(staff_user))
        run_queue(distribution)
        assert (
            distribution.status,
            distribution.read_count,
            distribution.issued_count,
            distribution.skipped_count,
        ) == (Status.SUCCEEDED, 240, 240, 50)
        assert IssuedCoupon.objects.filter(coupon=coupon).count() == 240

    def test_a_table_that_grows_under_a_run_never_issues_past_the_confirmed_count(
        self, announced, postgres, warehouse, memory_table, coupon, settings, django_capture_on_commit_callbacks
    ):
        """The run's check passed, then the table grew before its stream read it: the chunk that would pass the
        confirmed count rolls back and the request stops with the counts committed before it."""
        table = memory_table(ids(1, 180))
        distribution = submit(coupon, table)
        claimed = services.distribution_claim_next()
        warehouse.execute(f"INSERT INTO {table} {ids(181, 240)}")
        source, writer = get_source("warehouse"), get_writer()
        batches = source.read(source.resolve(table, "user_id"), after=None, batch_size=100)
        services.distribution_issue_chunk(distribution=claimed, writer=writer, user_ids=next(batches), elapsed=0)
        with pytest.raises(services.AudienceChanged) as stop:
            services.distribution_issue_chunk(distribution=claimed, writer=writer, user_ids=next(batches), elapsed=0)
        batches.close()
        with django_capture_on_commit_callbacks(execute=True):  # what distribution_run does with it
            services.distribution_stop_audience_changed(distribution=claimed, reason=stop.value, elapsed=1)
        distribution.refresh_from_db()
        assert_stopped(
            distribution,
            "holds more than the 180 members you confirmed (the next 100 would have made 200)",
            issued=100,
            announced=announced,
        )
        assert (distribution.read_count, distribution.checkpoint) == (100, 100)


class TestOnDuckDB:
    @pytest.mark.parametrize(
        "change, message",
        [
            ("INSERT INTO members SELECT i FROM range(11, 21) t(i)", "The table now has 20 members; you confirmed 10."),
            ("UPDATE members SET user_id = 99 WHERE user_id = 3", "but other members"),
        ],
    )
    def test_a_changed_table_stops_the_run(self, change, message, run_queue, announced, db, coupon, duckdb_source):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
        distribution = submit(coupon, "warehouse.main.members", source="demo")
        duckdb_source(change)
        run_queue(distribution)
        assert_stopped(distribution, message, issued=0, announced=announced)

    def test_duplicates_and_invalid_rows_are_not_a_change(self, run_queue, db, coupon, duckdb_source):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
        distribution = submit(coupon, "warehouse.main.members", source="demo")
        duckdb_source("INSERT INTO members VALUES (3), (3), (NULL), (0), (-1)")
        run_queue(distribution)
        assert (distribution.status, distribution.issued_count) == (Status.SUCCEEDED, 10)

    def test_the_slack_message_says_what_changed(self, run_queue, db, coupon, duckdb_source):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
        distribution = submit(coupon, "warehouse.main.members", source="demo")
        duckdb_source("DELETE FROM members WHERE user_id > 4")
        run_queue(distribution)
        message = render(Event.AUDIENCE_CHANGED, distribution)["text"]
        assert f"#{distribution.pk} stopped: its audience changed" in message
        assert "The table now has 4 members; you confirmed 10." in message

    def test_the_request_page_offers_a_fresh_preview_to_its_requester(
        self, run_queue, client, db, coupon, duckdb_source, staff_user, django_user_model
    ):
        duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
        distribution = submit(coupon, "warehouse.main.members", source="demo", user=staff_user)
        duckdb_source("DELETE FROM members WHERE user_id > 4")
        run_queue(distribution)
        change = reverse("admin:distribution_distributionrequest_change", args=[distribution.pk])
        again = reverse("admin:distribution_distributionrequest_preview_again", args=[distribution.pk])
        other = django_user_model.objects.create_superuser("other", "o@example.com", "pw-for-tests-only")
        client.force_login(other)
        assert again not in client.get(change).content.decode()
        assert client.post(again).status_code == 403
        client.force_login(staff_user)
        page = client.get(change).content.decode()
        assert 'id="preview-again"' in page and "The table now has 4 members; you confirmed 10." in page
        assert client.post(again).status_code == 302
        distribution.refresh_from_db()
        assert (distribution.status, distribution.target_count) == (Status.DRAFT, 4)
        assert 'id="confirm"' in client.get(change).content.decode()


def test_an_audience_grown_past_the_approval_limit_needs_approval_after_the_fresh_preview(
    run_queue, db, coupon, duckdb_source, settings, staff_user
):
    settings.DISTRIBUTION_APPROVAL_COUPONS = 5
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 5) t(i)")
    distribution = submit(coupon, "warehouse.main.members", source="demo", user=staff_user)
    assert distribution.status == Status.QUEUED  # 4 members: under the limit, no approval
    duckdb_source("INSERT INTO members SELECT i FROM range(5, 2001) t(i)")
    run_queue(distribution)
    assert distribution.status == Status.AUDIENCE_CHANGED and not IssuedCoupon.objects.exists()
    services.distribution_preview_again(distribution=distribution, actor=by(staff_user))
    assert services.distribution_confirm(distribution=distribution, actor=by(staff_user)) == Status.AWAITING_APPROVAL
    run_queue(distribution)
    assert distribution.status == Status.AWAITING_APPROVAL and not IssuedCoupon.objects.exists()


def test_a_request_from_the_command_line_is_taken_over_by_the_marketer_who_previews_it_again(
    run_queue, client, db, coupon, duckdb_source, django_user_model
):
    duckdb_source("CREATE TABLE members AS SELECT i AS user_id FROM range(1, 11) t(i)")
    distribution = submit(coupon, "warehouse.main.members", source="demo")  # no requester: the command line
    duckdb_source("INSERT INTO members SELECT i FROM range(11, 21) t(i)")
    run_queue(distribution)
    assert distribution.status == Status.AUDIENCE_CHANGED and distribution.requested_by is None
    agent, marketer = (
        django_user_model.objects.create_user(name, password="pw-for-tests-only", is_staff=True)
        for name in ("agent", "marketer")
    )
    agent.groups.add(Group.objects.get(name="support"))
    marketer.groups.add(Group.objects.get(name="marketer"))
    change = reverse("admin:distribution_distributionrequest_change", args=[distribution.pk])
    client.force_login(agent)
    assert 'id="preview-again"' not in client.get(change).content.decode()
    with pytest.raises(PermissionDenied):
        services.distribution_preview_again(distribution=distribution, actor=by(agent))
    client.force_login(marketer)
    assert 'id="preview-again"' in client.get(change).content.decode()
    assert (
        client.post(reverse("admin:distribution_distributionrequest_preview_again", args=[distribution.pk])).status_code
        == 302
    )
    distribution.refresh_from_db()
    assert (distribution.status, distribution.requested_by, distribution.target_count) == (Status.DRAFT, marketer, 20)
    assert services.distribution_confirm(distribution=distribution, actor=by(marketer)) == Status.QUEUED
    run_queue(distribution)
    assert distribution.status == Status.SUCCEEDED and distribution.issued_count == 20
