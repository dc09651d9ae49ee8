"""The request's lifecycle explored at random (Hypothesis' stateful testing) on the real database.

Random sequences of drafting, confirming, approving, rejecting, discarding, cancelling, running (whole, one chunk
then a stop, a claim whose worker dies), taking over, retrying, revoking, re-issuing, previewing again after a
changed audience, and support's changes of one member's coupon, by people in different roles. After every step the
invariants hold: counts equal rows, nothing is issued unless confirmed (and approved when large), every history row
is a declared move by someone allowed to make it, and a revoked request leaves none of its coupons live. A failing
sequence is shrunk to the shortest one that fails.

`HYPOTHESIS_PROFILE=long make test-long` explores far more sequences than CI does.
"""

import os
import threading
from datetime import timedelta

import duckdb
import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as explore
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from distribution import lifecycle, services
from distribution.actors import WATCHDOG, WORKER, Actor, Kind
from distribution.models import Coupon, DistributionRequest, IssuedCoupon, Transition
from distribution.services.running import ClaimLost
from distribution.writers import get_writer

Status = lifecycle.Status
Move = lifecycle.Move

PROFILES = {
    "ci": explore(max_examples=25, stateful_step_count=30, deadline=None),
    "long": explore(max_examples=300, stateful_step_count=60, deadline=None),
}
# Tables of the demo source: their ids, which the machine changes to make an audience change under a request.
TABLES = {"small": range(1, 21), "large": range(1, 61), "other": range(41, 81)}
PEOPLE = ("ann", "bob", "max", "sue")  # marketers ann and bob, manager max, support sue
# Who tries a move: mostly the one who may ("proper": the requester, or the manager for an approval), often
# someone who may not.
TRIERS = st.sampled_from(("proper", "proper", "proper", *PEOPLE))


class LifecycleMachine(RuleBasedStateMachine):
    """One coupon, four people, a few audience tables; requests come and go."""

    warehouse = None  # the DuckDB file, set by the test

    @initialize()
    def set_up(self):
        # One test function runs many examples in one database transaction: each example runs in a savepoint
        # of its own, rolled back after it, so the next one starts from an empty database.
        self.example = transaction.atomic()
        self.example.__enter__()
        self.coupon = Coupon.objects.create(
            name="Model", code="MODEL", discount_kind="amount", discount_amount=1000, valid_days=30
        )
        self.people = {name: _person(name) for name in PEOPLE}
        self.restored = set()  # (request, member) given back by support after their request was revoked
        self.dead_runs = []  # request objects as a worker that died holding them saw them
        for name, ids in TABLES.items():
            self._table(name, ids)
        for table, who in (("small", "ann"), ("large", "bob"), ("other", "ann")):
            self.draft(table, who)

    def teardown(self):
        if hasattr(self, "example"):
            transaction.set_rollback(True)
            self.example.__exit__(None, None, None)

    # --- helpers -------------------------------------------------------------------------------------------

    def _table(self, name, ids):
        with duckdb.connect(self.warehouse) as con:
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT unnest(?::BIGINT[]) AS user_id", [list(ids)])

    def _requests(self):
        return list(DistributionRequest.objects.order_by("pk"))

    def _any(self, *statuses):
        return DistributionRequest.objects.filter(status__in=statuses).exists()

    def _pick(self, data, statuses=None):
        candidates = [r for r in self._requests() if statuses is None or r.status in statuses]
        return data.draw(st.sampled_from(candidates)) if candidates else None

    def _attempt(self, call, *, distribution):
        """Calls a service as a person would; a refusal (permission, validation) must change nothing."""
        before = _snapshot(distribution)
        try:
            return call()
        except (PermissionDenied, ValidationError):
            assert _snapshot(distribution) == before, "a refused move changed the request"
            return None

    # --- people's moves ------------------------------------------------------------------------------------

    @rule(table=st.sampled_from(sorted(TABLES)), who=st.sampled_from(PEOPLE))
    def draft(self, table, who):
        distribution = DistributionRequest(
            coupon=self.coupon, source="demo", table=f"warehouse.main.{table}", column="user_id", memo="model"
        )
        try:
            services.distribution_draft(distribution=distribution, actor=self._actor(who))
        except (PermissionDenied, ValidationError):
            assert distribution.pk is None or not DistributionRequest.objects.filter(pk=distribution.pk).exists()

    @precondition(lambda self: self._any(Status.DRAFT))
    @rule(data=st.data(), who=TRIERS)
    def confirm(self, data, who):
        self._person_move(data, who, services.distribution_confirm, {Status.DRAFT})

    @precondition(lambda self: self._any(Status.AWAITING_APPROVAL))
    @rule(data=st.data(), who=TRIERS)
    def approve(self, data, who):
        self._person_move(data, who, services.distribution_approve, {Status.AWAITING_APPROVAL}, proper="manager")

    @precondition(lambda self: self._any(Status.AWAITING_APPROVAL))
    @rule(data=st.data(), who=TRIERS)
    def reject(self, data, who):
        def reject(*, distribution, actor):
            return services.distribution_reject(distribution=distribution, actor=actor, reason="not now")

        self._person_move(data, who, reject, {Status.AWAITING_APPROVAL}, proper="manager")

    @precondition(lambda self: self._any(Status.DRAFT))
    @rule(data=st.data(), who=TRIERS)
    def discard(self, data, who):
        self._person_move(data, who, services.distribution_discard, {Status.DRAFT})

    @precondition(lambda self: self._any(Status.AWAITING_APPROVAL, Status.QUEUED, Status.RUNNING))
    @rule(data=st.data(), who=TRIERS)
    def cancel(self, data, who):
        self._person_move(data, who, services.distribution_cancel, lifecycle.sources(Move.CANCELLED))

    @precondition(lambda self: self._any(Status.FAILED))
    @rule(data=st.data(), who=TRIERS)
    def retry(self, data, who):
        self._person_move(data, who, services.distribution_retry, {Status.FAILED})

    @precondition(lambda self: self._any(*lifecycle.sources(Move.REVOKE_STARTED)))
    @rule(data=st.data(), who=TRIERS)
    def revoke(self, data, who):
        self._person_move(data, who, services.distribution_revoke, lifecycle.sources(Move.REVOKE_STARTED))

    @precondition(lambda self: self._any(Status.AUDIENCE_CHANGED))
    @rule(data=st.data(), who=TRIERS)
    def preview_again(self, data, who):
        self._person_move(data, who, services.distribution_preview_again, {Status.AUDIENCE_CHANGED})

    def _person_move(self, data, who, service, statuses, *, proper="requester"):
        distribution = self._pick(data, statuses)
        if distribution is not None:
            if who == "proper":
                who = "max" if proper == "manager" else distribution.requested_by.username
            actor = self._actor(who)
            self._attempt(lambda: service(distribution=distribution, actor=actor), distribution=distribution)

    @rule(data=st.data(), who=st.sampled_from(("max", "max", *PEOPLE)), restore=st.booleans())
    def change_one_member(self, data, who, restore):
        rows = list(IssuedCoupon.objects.filter(coupon=self.coupon).order_by("user_id")[:80])
        if not rows:
            return
        row = data.draw(st.sampled_from(rows))
        change = services.issued_coupon_restore if restore else services.issued_coupon_revoke
        try:
            changed = change(coupon=self.coupon, user_id=row.user_id, actor=self._actor(who), reason="member asked")
        except (PermissionDenied, ValidationError):
            return
        if changed and restore and row.distribution.status == Status.REVOKED:
            self.restored.add((row.distribution_id, row.user_id))

    @rule(data=st.data())
    def member_uses_a_coupon(self, data):
        usable = list(IssuedCoupon.objects.filter(coupon=self.coupon, used_at=None, deleted_at=None)[:80])
        if usable:
            row = data.draw(st.sampled_from(usable))
            IssuedCoupon.objects.filter(coupon=self.coupon, user_id=row.user_id).update(used_at=timezone.now())

    @rule(table=st.sampled_from(sorted(TABLES)), more=st.integers(1, 15))
    def an_etl_grows_a_table(self, table, more):
        top = max(TABLES[table])
        self._table(table, [*TABLES[table], *range(top + 1, top + 1 + more)])

    @rule(active=st.booleans())
    def the_coupon_is_switched(self, active):
        Coupon.objects.filter(pk=self.coupon.pk).update(is_active=active)
        self.coupon.refresh_from_db()

    # --- the system's moves --------------------------------------------------------------------------------

    @precondition(lambda self: self._any(Status.QUEUED, Status.REVOKING))
    @rule()
    def the_worker_runs_the_queue(self):
        services.distribution_run_queue()

    @precondition(lambda self: self._any(Status.QUEUED))
    @rule()
    def the_worker_runs_one_chunk_then_stops(self):
        if (distribution := services.distribution_claim_next()) is not None:
            stop = threading.Event()
            stop.set()  # checked after each chunk: the run commits one and goes back to the queue
            services.distribution_run(distribution=distribution, stop=stop)

    @precondition(lambda self: self._any(Status.QUEUED))
    @rule()
    def a_worker_claims_and_dies(self):
        if (distribution := services.distribution_claim_next()) is not None:
            self.dead_runs.append(distribution)

    @precondition(lambda self: self._any(Status.RUNNING))
    @rule()
    def the_watchdog_takes_over(self):
        services.distribution_requeue_stale(now=timezone.now() + timedelta(days=1))

    @precondition(lambda self: self.dead_runs)
    @rule()
    def a_dead_worker_writes_late(self):
        """A run that lost its claim (taken over, cancelled, finished by another) writes nothing."""
        ghost = self.dead_runs.pop(0)
        current = DistributionRequest.objects.get(pk=ghost.pk)
        if current.status == Status.RUNNING and current.attempts == ghost.attempts:
            return  # still its own claim: nothing to prove
        rows = IssuedCoupon.objects.filter(coupon=self.coupon).count()
        with pytest.raises(ClaimLost):
            services.distribution_issue_chunk(
                distribution=ghost, writer=get_writer(), user_ids=[9_000_001, 9_000_002], elapsed=1.0
            )
        assert IssuedCoupon.objects.filter(coupon=self.coupon).count() == rows
        assert _snapshot(DistributionRequest.objects.get(pk=ghost.pk)) == _snapshot(current)

    def _actor(self, who):
        return Actor.for_user(self.people[who])

    # --- what must always hold ------------------------------------------------------------------------------

    @invariant()
    def counts_equal_rows(self):
        if not hasattr(self, "coupon"):
            return
        requests = self._requests()
        rows = IssuedCoupon.objects.filter(coupon=self.coupon)
        # Each row was issued once, as new; a re-issue gives a revoked row back and adds none.
        assert sum(r.issued_count for r in requests) == rows.count()
        for distribution in requests:
            assert distribution.read_count == (
                distribution.issued_count + distribution.reissued_count + distribution.skipped_count
            )
            assert distribution.revoked_count <= distribution.issued_count + distribution.reissued_count
        assert sum(1 for r in requests if r.status == Status.RUNNING) <= 1

    @invariant()
    def nothing_is_issued_unless_confirmed_and_approved_when_large(self):
        if not hasattr(self, "coupon"):
            return
        for distribution in self._requests():
            cleared, started = False, False  # confirmed (and approved when large) since its last preview
            for action, status in distribution.transitions.order_by("pk").values_list("action", "status"):
                if action in (Move.DRAFTED, Move.PREVIEWED_AGAIN):
                    cleared = False
                elif action == Move.CONFIRMED:
                    cleared = status == Status.QUEUED
                elif action == Move.APPROVED:
                    cleared = True
                elif action == Move.STARTED:
                    assert cleared, "a run started without confirmation (and approval when large)"
                    started = True
            if distribution.coupons_issued().exists() or distribution.issued_count or distribution.reissued_count:
                assert started

    @invariant()
    def every_history_row_is_a_declared_move_by_someone_allowed(self):
        if not hasattr(self, "coupon"):
            return
        for distribution in self._requests():
            before = None
            for transition in distribution.transitions.order_by("pk"):
                move = lifecycle.MOVES[transition.action]
                if move.outcomes[0].status is None:  # a member's coupon: the request's status is unchanged
                    assert transition.status == before
                    continue
                assert (before is None and not move.sources) or before in move.sources, (before, transition.action)
                assert transition.status in {outcome.status for outcome in move.outcomes}
                actor = _actor_of(transition)
                assert lifecycle.who_refusal(distribution=distribution, action=transition.action, actor=actor) is None
                before = transition.status
            assert before == distribution.status, "the status changed without a recorded move"

    @invariant()
    def a_revoked_request_leaves_none_of_its_coupons_live(self):
        if not hasattr(self, "coupon"):
            return
        for distribution in DistributionRequest.objects.filter(status=Status.REVOKED):
            live = distribution.coupons_issued().filter(deleted_at=None, used_at=None)
            restored = {member for pk, member in self.restored if pk == distribution.pk}
            assert set(live.values_list("user_id", flat=True)) <= restored


def _person(name):
    from django.contrib.auth import get_user_model

    role = {"ann": "marketer", "bob": "marketer", "max": "manager", "sue": "support"}[name]
    user = get_user_model().objects.create_user(name, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def _actor_of(transition):
    if transition.actor_kind == Kind.USER:
        return Actor.for_user(transition.actor)
    return {Kind.WORKER: WORKER, Kind.WATCHDOG: WATCHDOG}.get(transition.actor_kind, Actor(transition.actor_kind))


def _snapshot(distribution):
    fresh = DistributionRequest.objects.filter(pk=distribution.pk).values().first()
    return fresh, Transition.objects.filter(distribution_id=distribution.pk).count()


@pytest.mark.integration
def test_the_lifecycle_holds_under_random_sequences_of_moves(postgres, duckdb_source, tmp_path, settings):
    settings.DISTRIBUTION_CHUNK_SIZE = 7
    settings.DISTRIBUTION_APPROVAL_COUPONS = 30  # the 60-member table needs a manager's approval
    settings.DISTRIBUTION_APPROVAL_VALUE = None
    LifecycleMachine.warehouse = str(tmp_path / "warehouse.duckdb")
    profile = PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "ci")]
    checks = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]
    run_state_machine_as_test(LifecycleMachine, settings=explore(profile, suppress_health_check=checks))
