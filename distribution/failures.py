"""Why a run failed, decided in one place: transient (the run is queued again after a growing wait and
resumes from its checkpoint) or permanent (the run ends, as a person must act).

A failure is a code and values, never a sentence: `failure_text` renders it in the reader's language
wherever it is shown (the request, the list, the exports, Slack). Values are the facts (counts, a
service's own error text); only the sentence around them is translated.

Transient: the database restarted or the connection was cut; the coupon service kept answering 5xx,
429 or timing out past its retry window; Trino was unreachable, or abandoned or lost the query (it
abandons a query not polled for 5 minutes, which a long stall of the writer causes).
Permanent: everything else — the budget reached, the coupon expired or deactivated, a 4xx refusal of
the coupon service, permission denied, a table gone, and any error nobody foresaw (a retry would only
repeat it).
"""

from dataclasses import dataclass, field

import requests
import trino.exceptions
from django.db import utils as db
from django.utils.translation import gettext, gettext_lazy

from common.formats import number

from .writers.http import Refused, Retryable

# Trino errors that a later run may not meet (the query was lost, not wrong).
TRINO_TRANSIENT = {
    "ABANDONED_QUERY",
    "SERVER_SHUTTING_DOWN",
    "SERVER_STARTING_UP",
    "NO_NODES_AVAILABLE",
    "REMOTE_TASK_ERROR",
    "REMOTE_HOST_GONE",
    "PAGE_TRANSPORT_TIMEOUT",
    "TOO_MANY_REQUESTS_FAILED",
}

NOTHING_MORE = gettext_lazy(
    "Nothing more was issued (%(issued)s issued and %(reissued)s re-issued before); preview it again to go on."
)
# A code's sentence, or sentences said one after the other.
MESSAGES = {
    "database_unavailable": gettext_lazy("the database could not be reached: %(error)s"),
    "coupon_service_unavailable": gettext_lazy("coupon service unavailable: %(error)s"),
    "coupon_service_refused": gettext_lazy("the coupon service refused the coupons: %(error)s"),
    "warehouse_unreachable": gettext_lazy("the warehouse could not be reached: %(error)s"),
    "warehouse_query_lost": gettext_lazy("the warehouse gave up the query (%(name)s): %(error)s"),
    "warehouse_error": gettext_lazy("Trino reported %(name)s: %(error)s"),  # the source's own words
    "permission_denied": gettext_lazy("Trino refused access: %(error)s"),
    "run_error": gettext_lazy("%(error)s"),
    # Reasons the run itself gives (services/running.py, services/audience.py, throttle.py).
    "budget_reached": gettext_lazy(
        "The coupon's budget is reached: %(new)s more coupons would exceed the %(left)s left."
    ),
    "coupon_unusable": gettext_lazy(
        "Coupon “%(code)s” was deactivated or expired after the request was queued; nothing more was issued."
    ),
    "paused_too_long": gettext_lazy(
        "The run was paused for more than %(seconds)s seconds, longer than the warehouse keeps a query "
        "waiting; nothing was lost. Resume it if an operator paused it, then Retry: it goes on after the "
        "last member written."
    ),
    "audience_count_changed": (
        gettext_lazy("The table now has %(now)s members; you confirmed %(confirmed)s."),
        NOTHING_MORE,
    ),
    "audience_members_changed": (
        gettext_lazy("The table has the same number of members as you confirmed (%(confirmed)s), but other members."),
        NOTHING_MORE,
    ),
    "audience_grew": (
        gettext_lazy(
            "The table changed during the run: it holds more than the %(confirmed)s members you confirmed "
            "(the next %(chunk)s would have made %(read)s)."
        ),
        NOTHING_MORE,
    ),
}
TRANSIENT = {"database_unavailable", "coupon_service_unavailable", "warehouse_unreachable", "warehouse_query_lost"}


@dataclass(frozen=True)
class Failure:
    code: str
    values: dict = field(default_factory=dict)

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT

    def text(self) -> str:
        return failure_text(self.code, self.values)


class RunStopped(Exception):
    """A reason of the run's own to end it (the budget, the coupon, the audience …), as a code and values
    so that each reader gets it in their language."""

    def __init__(self, reason: str, /, **values):
        self.failure = Failure(reason, values)
        super().__init__(reason)

    @property
    def message(self) -> str:
        return self.failure.text()  # rendered when read: in the language active then

    def __str__(self):
        return self.message


def failure_text(code: str, values: dict) -> str:
    """The one rendering of a run's failure, in the active language; '' for no failure."""
    if not code:
        return ""
    templates = MESSAGES.get(code, "%(error)s")
    shown = {name: number(value) if _is_count(value) else value for name, value in values.items()}
    try:
        return " ".join(gettext(str(template)) % shown for template in _sentences(templates))
    except (KeyError, TypeError, ValueError):  # a catalogue entry that lost a placeholder: the facts still show
        return f"{code}: {values}"


def _sentences(templates):
    return templates if isinstance(templates, tuple) else (templates,)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool)


def failure_of(exc: BaseException) -> Failure:
    """The failure an exception stands for: the most specific cause in its chain decides."""
    for cause in _chain(exc):
        failure = _classify(cause)
        if failure is not None:
            return failure
    return Failure("run_error", {"error": getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"})


def _chain(exc):
    """The exception and its causes, outermost first: a wrapper that knows better (the coupon service's
    Retryable around a connection error) speaks before what it wraps."""
    chain = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or (exc.__context__ if not exc.__suppress_context__ else None)
    return chain


def _classify(exc) -> Failure | None:
    error = {"error": str(exc)}
    if isinstance(exc, RunStopped):
        return exc.failure
    if isinstance(exc, Retryable):
        return Failure("coupon_service_unavailable", error)
    if isinstance(exc, Refused):
        return Failure("coupon_service_refused", error)
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        return Failure("database_unavailable", error)
    if isinstance(exc, trino.exceptions.TrinoQueryError):
        return _trino_failure(exc)
    if isinstance(exc, (trino.exceptions.TrinoConnectionError, trino.exceptions.HttpError, requests.ConnectionError)):
        return Failure("warehouse_unreachable", error)
    if isinstance(exc, requests.Timeout):
        return Failure("warehouse_unreachable", error)
    return None


def _trino_failure(exc) -> Failure:
    values = {"name": exc.error_name, "error": exc.message}
    if exc.error_name == "PERMISSION_DENIED":
        return Failure("permission_denied", {"error": exc.message})
    return Failure("warehouse_query_lost" if exc.error_name in TRINO_TRANSIENT else "warehouse_error", values)
