"""The throttle: a running distribution yields to the members, as gh-ost yields to a production database.

Between chunks the worker's Pacer reads its signals: the members' latency (a primary-key look-up on the bulk
table and a durable commit, as a redeem does, timed on a connection of its own every THROTTLE_PROBE_INTERVAL
seconds while the chunk is written; it slows the run only while members write), the database's load (other
active sessions and lock waits in `pg_stat_activity`, sampled alongside) and, with a read replica, its replay
lag. Past a threshold the run slows down: half the chunk, twice the pause (multiplicative decrease); once
all are clear it speeds up by a tenth of the full chunk and a step less pause per chunk (additive increase).
Past a critical value it pauses, keeping its claim, until the signal falls back; so does a run an operator
paused. A maximum rate caps it whatever the signals say.

What slows a run is written on the request (`throttle`, shown live) only when it changes, with the time
spent slowed (`throttled_seconds`); an unthrottled run writes nothing more than it did.
"""

import logging
import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import DatabaseError, ProgrammingError, connection, connections
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common import replica

from .failures import RunStopped
from .models import DistributionRequest, IssuedCoupon

logger = logging.getLogger(__name__)
Status = DistributionRequest.Status

LABELS = {
    "latency": gettext_lazy("members' latency"),
    "calls": gettext_lazy("members' calls"),
    "active": gettext_lazy("active database sessions"),
    "locks": gettext_lazy("sessions waiting for a lock"),
    "lag": gettext_lazy("replica lag"),
}
SLOWED, PAUSED, HELD = "slowed", "paused", "held"


class PausedTooLong(RunStopped):
    """Paused for longer than the warehouse keeps an unread query alive."""

    def __init__(self, seconds):
        super().__init__("paused_too_long", seconds=round(seconds))


@dataclass(frozen=True)
class Reading:
    signal: str
    value: float
    threshold: float
    critical: float

    @property
    def over(self):
        return 0 < self.threshold < self.value

    @property
    def critical_over(self):
        return 0 < self.critical < self.value

    def as_state(self, state):
        limit = self.critical if state == PAUSED else self.threshold
        return {"state": state, "signal": self.signal, "value": round(self.value, 3), "limit": limit}


def describe(throttle: dict) -> str:
    """“Slowed down: members' latency 62 ms > 40 ms”, “Paused: replica lag 12.3 s > 10 s”, “Paused by an
    operator”; empty when nothing holds the run back."""
    state = throttle.get("state")
    if state == HELD:
        return _("Paused by an operator")
    if state not in (SLOWED, PAUSED):
        return ""
    reading = _("%(signal)s %(value)s > %(limit)s") % {
        "signal": LABELS.get(throttle["signal"], throttle["signal"]),
        "value": _amount(throttle["signal"], throttle["value"]),
        "limit": _amount(throttle["signal"], throttle["limit"]),
    }
    if state == PAUSED:
        return _("Paused: %(reading)s") % {"reading": reading}
    return _("Slowed down: %(reading)s") % {"reading": reading}


def _amount(signal, value):
    if signal in ("latency", "calls"):
        return _("%(n)s ms") % {"n": f"{value:,.0f}"}
    if signal == "lag":
        return _("%(n)s s") % {"n": f"{value:,.1f}"}
    return f"{value:,.0f}"


class Probe:
    """A thread that times what a redeem does (a primary-key look-up on the bulk table and a durable commit)
    and samples pg_stat_activity, on a connection of its own, while the worker writes: what a member's call
    meets at that moment. A probe still unanswered counts as slow as it is so far (one stuck behind a lock, a
    stalled server)."""

    ACTIVITY_SQL = """
        SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE wait_event_type = 'Lock'),
               (SELECT n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relid = %s::regclass)
        FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND pid <> %s
    """
    # Members write to the bulk table (a redeem, a release) only by UPDATE; the run by COPY. Sessions report
    # their counts about once a second while busy, so members count as writing for a little longer, and until
    # the counts have been watched for a while the probe assumes they write: a run's first full-speed second
    # held five redeems of 262 at 46–158 ms (10M bench, 2026-12-02) before the counts showed the members.
    WRITING_FOR, UNKNOWN_FOR = 3.0, 1.5

    # What a redeem does: a primary-key look-up on the bulk table, then a durable commit of a transaction that
    # wrote (a transactional WAL message, no table touched). A member's commit must flush every WAL byte before
    # its own, the bulk COPY's included, so this is where the run shows first: at 10,000,000 on two cores the
    # look-up stayed at 0.1 ms while this commit went from 0.5 ms idle to 6 ms (p50) and 17 ms (p90).
    # Timed by the server (clock_timestamp), not by this thread, whose own waits for a CPU are no member's.
    PROBE_SQL = """
        DO $probe$
        DECLARE started timestamptz := clock_timestamp();
        BEGIN
          PERFORM 1 FROM %(table)s WHERE coupon_id = %(coupon)s AND user_id = 1;
          PERFORM pg_logical_emit_message(true, 'couponops.throttle', '');
          COMMIT;
          RAISE NOTICE 'couponops.throttle %%', extract(epoch FROM clock_timestamp() - started) * 1000;
        END $probe$
    """
    # Where the WAL message is not allowed (a role without the right): the look-up alone, as before.
    LOOKUP_SQL = (
        "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) "
        "SELECT 1 FROM %(table)s WHERE coupon_id = %(coupon)s AND user_id = 1"
    )

    def __init__(self, *, coupon_id, worker_pid, interval, call_url=""):
        self.coupon_id, self.worker_pid, self.interval = coupon_id, worker_pid, interval
        self.call = CallTimer(call_url) if call_url else None
        self.samples, self.lock = [], threading.Lock()
        self.in_flight_since = None
        names = {"table": IssuedCoupon._meta.db_table, "coupon": int(coupon_id)}
        self.probe_sql, self.lookup_sql = self.PROBE_SQL % names, self.LOOKUP_SQL % names
        self.commits = True
        self.updated_by_run, self.members_updates, self.members_wrote_at = 0, None, 0.0
        self.stopping, self.first = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, name="throttle-probe", daemon=True)

    def start(self):
        """Starts the thread and waits for its first sample (bounded by the critical limits): a short run would
        otherwise end before the members' state was ever known, and a long one write its first chunks blind."""
        # Until the counts have been watched for UNKNOWN_FOR seconds, members may be writing.
        self.members_wrote_at = time.monotonic() - self.WRITING_FOR + self.UNKNOWN_FOR
        self.thread.start()
        limit = settings.THROTTLE_LATENCY_CRITICAL_MS + (settings.THROTTLE_CALL_LATENCY_CRITICAL_MS if self.call else 0)
        self.first.wait(timeout=limit / 1000)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=10)

    def take(self):
        """The samples since the last take: (latency ms, active sessions, lock waits, call ms or None) each."""
        with self.lock:
            samples, self.samples = self.samples, []
            since = self.in_flight_since
        if since is not None:  # a probe still waiting counts as slow as it is so far
            samples.append(((time.perf_counter() - since) * 1000, None, None, None))
        return samples

    def _run(self):
        try:
            with connections["default"].cursor() as cursor:
                self._sample(cursor)
                self.first.set()
                while not self.stopping.wait(self.interval):
                    self._sample(cursor)
        except DatabaseError:
            logger.warning("the throttle's probe stopped", exc_info=True)
        finally:
            self.first.set()
            connections["default"].close()  # this thread's own connection

    def _sample(self, cursor):
        self.in_flight_since = time.perf_counter()
        latency = self._timed(cursor)
        self.in_flight_since = None
        cursor.execute(self.ACTIVITY_SQL, [IssuedCoupon._meta.db_table, self.worker_pid])
        active, locks, updates = cursor.fetchone()
        self._note_updates(updates)
        call = self.call.time() if self.call is not None else None
        with self.lock:
            self.samples.append((latency, active, locks, call))

    def members_writing(self):
        """Whether members wrote to the bulk table in the last WRITING_FOR seconds (or may have: the probe's first
        UNKNOWN_FOR seconds): a slow commit holds back their redeems, and nobody's when nobody writes (a run
        alone is not slowed for its own WAL once that is known)."""
        return time.monotonic() - self.members_wrote_at < self.WRITING_FOR

    def _note_updates(self, updates):
        # The run's own re-issue UPDATEs are not the members'; the highest count seen, since the run counts its
        # own at once and the server a moment later.
        members = (updates or 0) - self.updated_by_run
        if self.members_updates is None or members > self.members_updates:
            if self.members_updates is not None:
                self.members_wrote_at = time.monotonic()
            self.members_updates = members

    def _timed(self, cursor):
        """The server's own milliseconds for the probe."""
        if self.commits:
            try:
                cursor.execute(self.probe_sql)
            except ProgrammingError:  # InsufficientPrivilege on pg_logical_emit_message
                logger.warning("the throttle's probe times the look-up only", exc_info=True)
                self.commits = False
            else:
                notices = cursor.connection.notices
                text = next(n for n in reversed(notices) if "couponops.throttle" in n)
                notices.clear()
                return float(text.rsplit(" ", 1)[1])
        cursor.execute(self.lookup_sql)
        plan = cursor.fetchone()[0][0]
        return plan["Planning Time"] + plan["Execution Time"]


class CallTimer:
    """Times a member's call as a member meets it, every THROTTLE_CALL_INTERVAL seconds at most: a GET of
    THROTTLE_PROBE_URL (the API's /healthz behind the same web server), queueing in front of the web server
    included. The database probe sees only the database; on a shared machine the members wait for a CPU in
    front of it. A call that outlasts the critical limit counts as that slow; one that fails tells nothing
    about the members' wait (the web server is down or restarting) and is no reading: the run goes on."""

    def __init__(self, url):
        self.url, self.last = url, 0.0
        self.session = requests.Session()

    def time(self):
        now = time.monotonic()
        if now - self.last < settings.THROTTLE_CALL_INTERVAL:
            return None
        self.last = now
        limit = settings.THROTTLE_CALL_LATENCY_CRITICAL_MS
        started = time.perf_counter()
        try:
            self.session.get(self.url, timeout=limit / 1000).raise_for_status()
        except requests.Timeout:
            return limit
        except requests.RequestException:
            logger.warning("the throttle's call to %s failed", self.url, exc_info=True)
            return None
        return (time.perf_counter() - started) * 1000


def _percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else None


def _mean(values):
    return sum(values) / len(values) if values else None


class Pacer:
    """Paces one run: `chunks` cuts the source's batches to the current chunk size, `wait_between_chunks`
    reads the signals and waits as long as they say. A context manager: the probe runs inside it."""

    def __init__(self, *, distribution: DistributionRequest):
        self.distribution = distribution
        self.full = self.chunk = settings.DISTRIBUTION_CHUNK_SIZE
        self.base_pause = settings.DISTRIBUTION_CHUNK_PAUSE  # SQLite's turn for the web server
        self.pause = 0.0
        self.enabled = settings.THROTTLE_ENABLED and connection.vendor == "postgresql"
        self.state = dict(distribution.throttle or {})
        self.throttled = {}  # seconds slowed or paused in this run, by signal
        self.rows, self.started = 0, time.monotonic()
        self.probe = None

    def __enter__(self):
        if self.enabled and settings.THROTTLE_PROBE_INTERVAL > 0:
            self.probe = Probe(
                coupon_id=self.distribution.coupon_id,
                worker_pid=self._worker_pid(),
                interval=settings.THROTTLE_PROBE_INTERVAL,
                call_url=settings.THROTTLE_PROBE_URL,
            )
            self.probe.start()
        return self

    def __exit__(self, *exc_info):
        if self.probe is not None:
            self.probe.stop()
        self._record_summary()

    def chunks(self, batches):
        """The source's batches, cut to the current chunk size (a batch is passed on whole when it fits)."""
        for batch in batches:
            start = 0
            while start < len(batch):
                size = self.chunk
                yield batch if start == 0 and size >= len(batch) else batch[start : start + size]
                start += size

    def wait_between_chunks(self, *, rows: int, updated: int = 0):
        """After a chunk of `rows` ids (`updated` of them re-issued by UPDATE): waits while paused, then as long
        as the signals and the rate cap ask."""
        self.rows += rows
        if self.probe is not None:
            self.probe.updated_by_run += updated
        readings = self._hold_while_paused()
        self._adjust(next((r for r in readings if r.over), None))
        self._sleep(self.base_pause + self.pause)
        self._cap_rate()

    # --- the decision -------------------------------------------------------------------------------

    def _adjust(self, worst):
        """Multiplicative decrease while a signal is over its threshold, additive increase once all are clear."""
        step = settings.THROTTLE_MAX_PAUSE / 10
        if worst is not None:
            self.chunk = max(min(settings.THROTTLE_MIN_CHUNK, self.full), self.chunk // 2)
            self.pause = min(settings.THROTTLE_MAX_PAUSE, max(self.pause * 2, step))
            self._show(worst.as_state(SLOWED))
            return
        self.chunk = min(self.full, self.chunk + max(1, self.full // 10))
        self.pause = max(0.0, self.pause - step)
        if self.chunk == self.full and self.pause == 0:
            self._show({})

    def _readings(self):
        readings = []
        if self.probe is not None:
            samples = self.probe.take()
            latency = _percentile([s[0] for s in samples], 0.9)
            active = _mean([s[1] for s in samples if s[1] is not None])
            locks = _mean([s[2] for s in samples if s[2] is not None])
            calls = _percentile([s[3] for s in samples if s[3] is not None], 0.9)
            slow = settings.THROTTLE_LATENCY_MS if self.probe.members_writing() else 0  # 0: no threshold
            readings += [
                Reading("latency", latency, slow, settings.THROTTLE_LATENCY_CRITICAL_MS),
                Reading("calls", calls, settings.THROTTLE_CALL_LATENCY_MS, settings.THROTTLE_CALL_LATENCY_CRITICAL_MS),
                Reading("locks", locks, settings.THROTTLE_LOCK_WAITS, settings.THROTTLE_LOCK_WAITS_CRITICAL),
                Reading(
                    "active", active, settings.THROTTLE_ACTIVE_SESSIONS, settings.THROTTLE_ACTIVE_SESSIONS_CRITICAL
                ),
            ]
        lag = replica.lag_seconds()
        readings.append(Reading("lag", lag, settings.THROTTLE_REPLICA_LAG, settings.THROTTLE_REPLICA_LAG_CRITICAL))
        return [r for r in readings if r.value is not None]

    # --- waiting ------------------------------------------------------------------------------------

    def _hold_while_paused(self):
        """Waits while an operator's pause or a critical signal holds the run, keeping its claim; returns the
        readings that let it go on."""
        held_since = time.monotonic()
        while True:
            readings = self._readings() if self.enabled else []
            reason = self._pause_reason(readings)
            if reason is None:
                return readings
            if time.monotonic() - held_since > settings.THROTTLE_HOLD_SECONDS:
                raise PausedTooLong(settings.THROTTLE_HOLD_SECONDS)
            self._show(reason)
            self._sleep(settings.THROTTLE_CHECK_INTERVAL)
            self._keep_claim()

    def _pause_reason(self, readings):
        if DistributionRequest.objects.filter(pk=self.distribution.pk, paused_at__isnull=False).exists():
            return {"state": HELD}
        critical = next((r for r in readings if r.critical_over), None)
        return critical.as_state(PAUSED) if critical else None

    def _sleep(self, seconds):
        """Sleeps; while the run shows a reason, the time counts as throttled, under that reason."""
        if seconds <= 0:
            return
        time.sleep(seconds)
        reason = self.state.get("signal") or self.state.get("state")
        if reason:
            self.throttled[reason] = self.throttled.get(reason, 0) + seconds
            self._mine().update(throttled_seconds=F("throttled_seconds") + seconds)

    def _cap_rate(self):
        cap = settings.THROTTLE_MAX_ROWS_PER_SECOND
        if cap > 0:
            time.sleep(max(0.0, self.rows / cap - (time.monotonic() - self.started)))

    # --- what the request shows -----------------------------------------------------------------------

    def _show(self, state):
        if state != self.state:
            self.state = state
            self._mine().update(throttle=state)

    def _keep_claim(self):
        from .services.running import ClaimLost  # the run's own exception: it ends the run quietly

        if not self._mine().update(heartbeat_at=timezone.now()):
            raise ClaimLost()

    def _mine(self):
        d = self.distribution
        return DistributionRequest.objects.filter(pk=d.pk, status=Status.RUNNING, attempts=d.attempts)

    def _record_summary(self):
        """The run's time slowed or paused, by signal, in the request's history; the live note cleared."""
        from .services.throttling import distribution_record_throttled

        try:
            if self.throttled:
                distribution_record_throttled(distribution=self.distribution, seconds=self.throttled)
            self._show({})
        except DatabaseError:  # the run's own error (a lost connection) is the one to report
            logger.warning("the throttle's summary of request %s was not recorded", self.distribution.pk)

    @staticmethod
    def _worker_pid():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
