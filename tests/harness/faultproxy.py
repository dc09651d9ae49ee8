"""A small HTTP proxy that puts faults between couponops and a coupon service, on demand.

    proxy = FaultProxy("http://127.0.0.1:8001").start()
    proxy.then("429", "500", "drop")     # the next three calls fail so; later ones are forwarded
    ... proxy.url is what the writer talks to ...
    proxy.stop()

Faults: "429" (Retry-After: 1, not forwarded), "500" (not forwarded), "hang" (holds the call past the
client's time-out, never forwarded), "drop" (forwarded, so the service commits, but the answer is thrown
away and the connection closed: the writer never hears), "401" and "404" (answered as the API would),
"down:S" (an outage from this call on: every call answers 500 for S seconds).
"""

import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .postgres import free_port

ANSWERS = {
    "429": (429, "rate_limited", {"Retry-After": "1"}),
    "500": (500, "server_error", {}),
    "401": (401, "unauthorized", {}),
    "404": (404, "unknown_coupon", {}),
}


class FaultProxy:
    def __init__(self, upstream, hang_seconds=5):
        self.upstream = upstream.rstrip("/")
        self.hang_seconds = hang_seconds
        self.faults = deque()
        self.lock = threading.Lock()
        self.calls = []  # (path, fault or "forwarded", idempotency key)
        self.server = None
        self.down_until = 0.0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_port}"

    def then(self, *faults):
        with self.lock:
            self.faults.extend(faults)
        return self

    def down_for(self, seconds):
        """Every call answers 500 for this long (an outage), whatever else is lined up."""
        self.down_until = time.monotonic() + seconds
        return self

    def next_fault(self):
        if time.monotonic() < self.down_until:
            return "500"
        with self.lock:
            fault = self.faults.popleft() if self.faults else None
        if fault is not None and fault.startswith("down:"):  # lined up after the calls before it, not timed
            self.down_for(float(fault.removeprefix("down:")))
            return "500"
        return fault

    def start(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _handler(proxy):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the name http.server calls)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fault = proxy.next_fault()
            proxy.calls.append((self.path, fault or "forwarded", self.headers.get("Idempotency-Key")))
            if fault in ANSWERS:
                return self._answer(*ANSWERS[fault])
            if fault == "hang":
                time.sleep(proxy.hang_seconds)
                self.close_connection = True
                return None
            status, headers, payload = self._forward(body)
            if fault == "drop":
                self.close_connection = True  # the service committed; the writer never hears
                return None
            self.send_response(status)
            for name, value in headers:
                if name.lower() in ("content-type", "retry-after"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return None

        def _forward(self, body):
            headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
            request = urllib.request.Request(proxy.upstream + self.path, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    return response.status, response.getheaders(), response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.headers.items(), error.read()

        def _answer(self, status, code, headers):
            payload = json.dumps({"error": {"code": code, "message": f"injected {status}"}}).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    return Handler
