"""Log lines for people and for log search.

`LOG_FORMAT=json` makes every line one JSON object (time, level, logger, message, plus any `extra`
fields); otherwise lines are plain text. Request transitions go to the logger `couponops.transitions`
through `log_transition`, one line each with the request id, so a search for `request_id=42` (plain)
or `request_id: 42` (JSON) finds a request's whole story.

This module is loaded by the logging configuration, before Django's apps: it imports nothing of Django.
"""

import json
import logging
from datetime import UTC, datetime

transitions = logging.getLogger("couponops.transitions")
# The attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def log_transition(*, request_id: int, event: str, status: str, **fields) -> None:
    """One line for one transition of a distribution request, e.g.
    log_transition(request_id=42, event="claimed", status="running", attempt=2)."""
    details = " ".join(f"{key}={value}" for key, value in fields.items())
    transitions.info(
        "request_id=%s event=%s status=%s%s",
        request_id,
        event,
        status,
        f" {details}" if details else "",
        extra={"request_id": request_id, "event": event, "status": status, **fields},
    )


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **{key: value for key, value in vars(record).items() if key not in _STANDARD},
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
