"""The Coupon API under a real gunicorn (4 workers) on PostgreSQL: what only real concurrency shows."""

import random
import threading
import time
import uuid
from collections import Counter

import pytest
import requests
from django.db.models import Count

from api.models import IdempotencyKey, IssueCall
from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon
from tests.api_helpers import api_key, hold
from tests.harness.cluster import process_env, qcluster
from tests.harness.web import gunicorn
from tests.helpers import by

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(postgres, tmp_path):
    with gunicorn(process_env(LOG_LEVEL="WARNING"), tmp_path / "gunicorn.log") as running:
        yield running


def all_at_once(calls):
    """Runs each call on its own thread (each with its own Session), released together; returns the answers."""
    barrier = threading.Barrier(len(calls))
    answers = [None] * len(calls)

    def run(index, call):
        with requests.Session() as session:
            barrier.wait()
            answers[index] = call(session)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


def test_of_50_concurrent_redeems_of_one_coupon_exactly_one_wins(server, coupon):
    hold(coupon, 42)
    _client, key = api_key()
    url = f"{server.url}/api/v1/members/42/coupons/{coupon.code}/redeem"

    def redeem(order):
        return lambda session: session.post(
            url, json={"order_id": order}, timeout=60, headers={"Authorization": f"Bearer {key}"}
        )

    answers = all_at_once([redeem(f"order-{i}") for i in range(50)])

    assert Counter(a.status_code for a in answers) == {200: 1, 409: 49}
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"already_redeemed"}
    winner = next(a.json() for a in answers if a.status_code == 200)
    row = IssuedCoupon.objects.get(coupon=coupon, user_id=42)
    assert row.order_id == winner["order_id"] and row.used_at is not None


def test_concurrent_issue_calls_with_one_idempotency_key_issue_once(server, coupon):
    _client, key = api_key()
    url = f"{server.url}/api/v1/coupons/{coupon.code}/issue"
    ids = list(range(1, 10_001))

    def issue(session):
        return session.post(
            url,
            json={"user_ids": ids},
            timeout=60,
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "welcome-batch-1"},
        )

    answers = all_at_once([issue] * 12)

    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {200, 409} and statuses[200] >= 1, statuses
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} <= {"idempotency_key_in_progress"}
    assert all(
        a.json() == {"issued": 10_000, "reissued": 0, "already_held": 0, "held_out": [], "invalid": []}
        for a in answers
        if a.status_code == 200
    )
    assert IssueCall.objects.count() == 1 and IdempotencyKey.objects.get().state == "done"
    assert IssuedCoupon.objects.filter(coupon=coupon).count() == 10_000
    assert not IssuedCoupon.objects.values("user_id").annotate(n=Count("*")).filter(n__gt=1).exists()
    # and a retry afterwards gets the stored answer
    assert issue(requests.Session()).json()["issued"] == 10_000


def test_concurrent_issue_calls_of_one_member_each_answer_and_issue_once(server, coupon):
    # The coupon has no budget: before, nothing made two writers of it wait for each other, both found
    # the member without the coupon, and the second COPY failed on the primary key (a 500, most rounds).
    _client, key = api_key()
    url = f"{server.url}/api/v1/coupons/{coupon.code}/issue"

    def issue(member, call):
        return lambda session: session.post(
            url,
            json={"user_ids": [member]},
            timeout=60,
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"member-{member}-call-{call}"},
        )

    for member in range(1, 16):
        answers = all_at_once([issue(member, 1), issue(member, 2)])
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        assert sorted((a.json()["issued"], a.json()["already_held"]) for a in answers) == [(0, 1), (1, 0)]
    assert IssuedCoupon.objects.filter(coupon=coupon).count() == 15


def test_redeems_and_issue_calls_succeed_while_a_distribution_writes_the_same_coupon(
    server, warehouse, coupon, tmp_path
):
    hold(coupon, *range(1, 1001))  # 1..1000 hold it already; the distribution writes custkey 1..150,000
    _client, key = api_key()
    env = process_env(
        TRINO_HOST="127.0.0.1", TRINO_PORT=warehouse.port, DISTRIBUTION_CHUNK_SIZE=2000, DISTRIBUTION_CHUNK_PAUSE=0.05
    )
    answers = []

    def redeem_while_running(members, session):
        for user_id in members:
            url = f"{server.url}/api/v1/members/{user_id}/coupons/{coupon.code}/redeem"
            answer = session.post(
                url, json={"order_id": f"o-{user_id}"}, timeout=60, headers={"Authorization": f"Bearer {key}"}
            )
            answers.append((user_id, answer.status_code, answer.json()))

    def issue_while_running(worker, session):
        # Windows of members the distribution also writes, until it ends: whichever writes a member
        # first, the other finds it held (before, the second writer failed on the primary key).
        windows = random.Random(worker)
        while not ended.is_set():
            first = windows.randrange(1001, 150_001 - 1000)
            answer = session.post(
                f"{server.url}/api/v1/coupons/{coupon.code}/issue",
                timeout=60,
                json={"user_ids": list(range(first, first + 1000))},
                headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex},
            )
            issued.append((answer.status_code, answer.json()))

    issued, ended = [], threading.Event()

    with qcluster(env, tmp_path / "worker.log"):
        distribution = services.distribution_submit(
            actor=by(),
            distribution=DistributionRequest(
                coupon=coupon, source="warehouse", table="tpch.sf1.customer", column="custkey", memo="bulk + redeem"
            ),
        )
        while distribution.read_count < 4000 and not distribution.is_finished:
            time.sleep(0.05)
            distribution.refresh_from_db()
        threads = [
            threading.Thread(target=redeem_while_running, args=(members, requests.Session()))
            for members in (range(1, 1001, 2), range(2, 1001, 2), range(100_000, 150_001, 100))
        ]
        threads += [
            threading.Thread(target=issue_while_running, args=(worker, requests.Session())) for worker in range(3)
        ]
        for thread in threads:
            thread.start()
        while not distribution.is_finished:
            time.sleep(0.2)
            distribution.refresh_from_db()
        ended.set()
        for thread in threads:
            thread.join(300)

    assert {status for status, _body in issued} == {200}, issued[:2]
    by_api = sum(body["issued"] for _status, body in issued)
    assert sum(body["issued"] + body["already_held"] for _status, body in issued) == 1000 * len(issued)
    assert (distribution.status, distribution.issued_count, distribution.skipped_count) == (
        DistributionRequest.Status.SUCCEEDED,
        149_000 - by_api,
        1000 + by_api,
    )
    held_before = [a for a in answers if a[0] <= 1000]
    assert len(held_before) == 1000 and {status for _id, status, _body in held_before} == {200}
    assert {status for user_id, status, _ in answers if user_id > 1000} <= {200, 404}, [
        a for a in answers if a[1] not in (200, 404)
    ][:3]
    used = IssuedCoupon.objects.filter(coupon=coupon, used_at__isnull=False)
    assert used.count() == sum(1 for a in answers if a[1] == 200)
    assert all(row.order_id == f"o-{row.user_id}" for row in used)
    # the redeems really overlapped the bulk write: some landed while it ran
    assert used.filter(used_at__gt=distribution.started_at, used_at__lt=distribution.finished_at).exists()
    assert IssuedCoupon.objects.filter(coupon=coupon).count() == 150_000


def test_concurrent_issue_calls_never_exceed_the_coupons_budget(server, coupon):
    coupon.budget = 15_000
    coupon.save()
    _client, key = api_key()
    url = f"{server.url}/api/v1/coupons/{coupon.code}/issue"

    def issue(first_id, call):
        ids = list(range(first_id, first_id + 10_000))
        return lambda session: session.post(
            url, json={"user_ids": ids}, timeout=60, headers={"Authorization": f"Bearer {key}", "Idempotency-Key": call}
        )

    answers = all_at_once([issue(1, "a"), issue(100_001, "b"), issue(200_001, "c")])

    assert sorted(a.status_code for a in answers) == [200, 409, 409]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"budget_exceeded"}
    assert IssuedCoupon.objects.filter(coupon=coupon).count() == 10_000 == coupon.issued_so_far()


def test_a_chunked_body_is_refused_with_411_and_issues_nothing(server, coupon):
    # Django reads Content-Length bytes of a WSGI body; a chunked one arrived empty and was refused as
    # "body required". Only a real server passes chunked bodies through.
    _client, key = api_key()
    answer = requests.post(
        f"{server.url}/api/v1/coupons/{coupon.code}/issue",
        data=iter([b'{"user_ids": [1, 2]}']),
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "chunked", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 411 and answer.json()["error"]["code"] == "length_required"
    assert not IssuedCoupon.objects.exists() and not IdempotencyKey.objects.exists()
