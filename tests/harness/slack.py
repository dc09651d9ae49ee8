"""A local HTTP server that answers as Slack's Web API (chat.postMessage) and incoming webhooks do.

Slack is the one part outside our machines, so tests talk to this instead. Each request takes the
next scripted behaviour (default "ok") and is recorded with its arrival time. A behaviour is "ok",
"rate_limited", "server_error", "hang", or any Slack error name, answered as Slack does: the Web API
with HTTP 200 and {"ok": false, "error": name}, an incoming webhook with the status Slack gives it
(403 invalid_token, 404 no_service, 410 channel_is_archived…). `refuse()` makes one webhook URL,
bot token or channel refuse every request, as a deleted webhook or a revoked token does.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeSlack:
    def __init__(self):
        self.script = []
        self.refusals = {}
        self.received = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def webhook_url(self):
        return f"{self.base_url}/services/T000/B000/XXXX"

    @property
    def api_url(self):
        return f"{self.base_url}/api/"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def then(self, *behaviours):
        """Scripts the answers to the next requests: ok, rate_limited, server_error, hang, a Slack error."""
        with self.lock:
            self.script.extend(behaviours)

    def refuse(self, key, error):
        """Every request to this webhook path, with this bot token or to this channel answers `error`."""
        with self.lock:
            self.refusals[key] = error

    def _next(self, path, body, headers):
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        with self.lock:
            for key in (path, token, body.get("channel")):
                if key in self.refusals:
                    return self.refusals[key]
            return self.script.pop(0) if self.script else "ok"

    def _record(self, path, body, headers):
        with self.lock:
            self.received.append({"at": time.time(), "path": path, "body": body, "headers": headers})

    def _handler(slack):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                body = json.loads(raw) if raw.startswith("{") else {k: v[0] for k, v in parse_qs(raw).items()}
                slack._record(self.path, body, dict(self.headers))
                behaviour = slack._next(self.path, body, self.headers)
                if behaviour == "hang":
                    time.sleep(5)
                    behaviour = "ok"
                if self.path.startswith("/api/"):
                    self._api(behaviour, body)
                else:
                    self._webhook(behaviour)

            def _api(self, behaviour, body):
                answers = {
                    "ok": (200, {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}),
                    "rate_limited": (429, {"ok": False, "error": "ratelimited"}),
                    "server_error": (500, {"ok": False, "error": "fatal_error"}),
                }
                status, answer = answers.get(behaviour, (200, {"ok": False, "error": behaviour}))
                self._reply(status, json.dumps(answer), "application/json", behaviour)

            def _webhook(self, behaviour):
                answers = {
                    "ok": (200, "ok"),
                    "invalid_auth": (403, "invalid_token"),
                    "invalid_token": (403, "invalid_token"),
                    "action_prohibited": (403, "action_prohibited"),
                    "invalid_payload": (400, "invalid_payload"),
                    "no_service": (404, "no_service"),
                    "channel_not_found": (404, "channel_not_found"),
                    "channel_is_archived": (410, "channel_is_archived"),
                    "rate_limited": (429, "rate_limited"),
                    "server_error": (500, "internal_error"),
                }
                status, answer = answers[behaviour]
                self._reply(status, answer, "text/html", behaviour)

            def _reply(self, status, text, content_type, behaviour):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                if behaviour == "rate_limited":
                    self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(data)

        return Handler
