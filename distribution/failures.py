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

MESSAGES = {
    "database_unavailable": gettext_lazy("the database could not be reached: %(error)s"),
    "coupon_service_unavailable": gettext_lazy("coupon service unavailable: %(error)s"),
    "coupon_service_refused": gettext_lazy("the coupon service refused the coupons: %(error)s"),
    "warehouse_unreachable": gettext_lazy("the warehouse could not be reached: %(error)s"),
    "warehouse_query_lost": gettext_lazy("the warehouse gave up the query (%(name)s): %(error)s"),
    "warehouse_error": gettext_lazy("Trino reported %(name)s: %(error)s"),  # the source's own words
    "permission_denied": gettext_lazy("Trino refused access: %(error)s"),
    "run_error": gettext_lazy("%(error)s"),
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


def failure_text(code: str, values: dict) -> str:
    """The one rendering of a run's failure, in the active language; '' for no failure."""
    if not code:
        return ""
    template = MESSAGES.get(code)
    text = gettext(str(template)) if template is not None else "%(error)s"
    try:
        return text % values
    except (KeyError, TypeError, ValueError):  # a catalogue entry that lost a placeholder: the facts still show
        return f"{code}: {values}"


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
