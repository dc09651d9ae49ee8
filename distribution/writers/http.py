"""Distributes into a coupon service elsewhere, through the Coupon API's bulk-issue call (the source
system's WebClientWriter). couponops's own API is the reference server of that protocol (README, "API").

The service's answers are the counts: nothing is written to couponops's own table. Exactly-once comes
from the idempotency key: one per call, derived from the request and the ids it carries, so a resend
after a time-out, a lost answer or a crash gets the stored answer instead of issuing twice.
"""

import hashlib
import logging
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import requests
import stamina
from django.conf import settings
from django.utils.translation import gettext as _

from distribution.models import Coupon

from .base import WriteFailed, Written

logger = logging.getLogger(__name__)
CALL_SIZE = 10_000  # the most ids the issue call takes


class Retryable(Exception):
    """A failure worth another try: the service was unreachable, slow, busy (429/409) or broken (5xx)."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class Refused(Exception):
    """An answer that will not change on a retry (a 4xx such as 401, 403, 404, 422)."""


def _backoff(exc):
    """stamina's hook: retry Retryable only, after the service's Retry-After when it gave one."""
    if not isinstance(exc, Retryable):
        return False
    return exc.retry_after if exc.retry_after is not None else True


class HttpWriter:
    """Sends each chunk as calls of at most 10,000 ids, COUPON_API_CONCURRENCY of them in flight."""

    name = "http"
    remote = True  # what the service issued stays issued, whatever happens here; it alone knows its holders

    def __init__(self):
        self.base_url = settings.COUPON_API_URL.rstrip("/")
        self.executor = ThreadPoolExecutor(settings.COUPON_API_CONCURRENCY, thread_name_prefix="coupon-api")
        weakref.finalize(self, self.executor.shutdown, wait=False)
        self.local = threading.local()  # requests.Session is not thread-safe: one per thread
        self.codes = {}

    def write(self, chunk, limit=None):
        url = self._url(chunk.coupon_id)  # here: the calls' threads have no database connection of their own
        if limit is not None:
            return self._write_within(chunk, url, limit)
        calls = [chunk.user_ids[i : i + CALL_SIZE] for i in range(0, len(chunk.user_ids), CALL_SIZE)]
        outcomes = list(self.executor.map(lambda ids: self._outcome(chunk, url, ids), calls))
        return _contiguous(calls, outcomes)

    def _write_within(self, chunk, url, limit):
        """With a budget, one call at a time, never asking for more coupons than the budget has left."""
        issued = reissued = at = 0
        while at < len(chunk.user_ids):
            left = limit - issued - reissued
            if left <= 0:
                raise WriteFailed(
                    _("The coupon's budget is reached: the coupon service issued the %(left)s coupons it had left.")
                    % {"left": f"{limit:,}"},
                    Written(issued=issued, reissued=reissued),
                    at,
                )
            ids = chunk.user_ids[at : at + min(CALL_SIZE, left)]
            outcome = self._outcome(chunk, url, ids)
            if isinstance(outcome, Exception):
                raise WriteFailed(str(outcome), Written(issued=issued, reissued=reissued), at) from outcome
            issued, reissued, at = issued + outcome.issued, reissued + outcome.reissued, at + len(ids)
        return Written(issued=issued, reissued=reissued)

    def _outcome(self, chunk, url, ids):
        """The service's answer to one call, or the exception that ended its retries."""
        key = idempotency_key(chunk.distribution_id, ids)
        try:
            for attempt in stamina.retry_context(
                on=_backoff, attempts=settings.COUPON_API_ATTEMPTS, timeout=settings.COUPON_API_RETRY_FOR, wait_max=30
            ):
                with attempt:
                    return self._post(url, ids, key)
        except (Retryable, Refused) as exc:
            return exc

    def _post(self, url, ids, key):
        try:
            response = self._session().post(
                url, json={"user_ids": ids}, timeout=settings.COUPON_API_TIMEOUT, headers={"Idempotency-Key": key}
            )
        except requests.RequestException as exc:  # refused, reset, timed out: the call may or may not have landed
            raise Retryable(_("The coupon service did not answer: %(error)s") % {"error": exc}) from exc
        if response.status_code == 200:
            answer = response.json()
            return Written(issued=answer["issued"], reissued=answer.get("reissued", 0))
        message = _("The coupon service answered %(status)s: %(error)s") % {
            "status": response.status_code,
            "error": _error_text(response),
        }
        if _busy(response):
            raise Retryable(message, _retry_after(response))
        raise Refused(message)

    def _session(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.headers["Authorization"] = f"Bearer {settings.COUPON_API_KEY}"
        return self.local.session

    def _url(self, coupon_id):
        if coupon_id not in self.codes:
            self.codes[coupon_id] = Coupon.objects.values_list("code", flat=True).get(pk=coupon_id)
        return f"{self.base_url}/api/v1/coupons/{quote(self.codes[coupon_id], safe='')}/issue"


def idempotency_key(distribution_id, ids):
    """The same ids of the same request always make the same key; other ids, another key."""
    digest = hashlib.sha256(b",".join(b"%d" % i for i in ids)).hexdigest()[:16]
    return f"couponops-{distribution_id}-{ids[0]}-{ids[-1]}-{digest}"


def _contiguous(calls, outcomes):
    """The counts of the calls that succeeded before the first failure; a failure raises WriteFailed
    with them, so the checkpoint never passes a call that did not land."""
    issued = reissued = done = 0
    for ids, outcome in zip(calls, outcomes, strict=False):
        if isinstance(outcome, Exception):
            raise WriteFailed(str(outcome), Written(issued=issued, reissued=reissued), done) from outcome
        issued, reissued, done = issued + outcome.issued, reissued + outcome.reissued, done + len(ids)
    return Written(issued=issued, reissued=reissued)


# 409s that a retry cannot change: the coupon's own rules refused the call.
FINAL_CONFLICTS = {"coupon_not_issuable", "budget_exceeded"}


def _busy(response):
    """429, 5xx, and a 409 about the key's call still running: worth another try."""
    if response.status_code == 409:
        return _error_code(response) not in FINAL_CONFLICTS
    return response.status_code == 429 or response.status_code >= 500


def _error_code(response):
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _error_text(response):
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:300] or response.reason


def _retry_after(response):
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
