"""An open-loop load on the Coupon API: calls go out on a fixed schedule, whatever the answers do.

A closed loop (locust's users, each waiting for its answer) sends less when the server slows down and so
hides the slowdown (coordinated omission). Here each call has a scheduled send time (wallet look-ups and
redeems evenly spaced at their rates); a pool of senders sends them, and a call's latency is counted from
its scheduled time, so a call that waited for a free sender counts the wait too. No Django here.
"""

import queue
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter


@dataclass
class Members:
    """The seeded layout (bench/api_load.py: seed): member k holds the coupons i ≡ k (mod 20)."""

    first: int
    count: int
    coupons: int
    prefix: str

    def wallet(self):
        return "GET", f"/api/v1/members/{self.first + random.randrange(self.count)}/coupons", None

    def redeem(self):
        member = random.randrange(self.count)
        coupon = member % 20 + 20 * random.randrange(self.coupons // 20)
        path = f"/api/v1/members/{self.first + member}/coupons/{self.prefix}{coupon:03d}/redeem"
        return "POST", path, {"order_id": uuid.uuid4().hex}


@dataclass
class Results:
    latencies: dict = field(default_factory=dict)  # call name -> [ms]
    failures: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name, ms, ok):
        with self.lock:
            self.latencies.setdefault(name, []).append(ms)
            self.failures[name] = self.failures.get(name, 0) + (not ok)

    def summary(self, seconds):
        return {
            name: {
                "calls": len(values),
                "failures": self.failures.get(name, 0),
                "rate": len(values) / seconds if seconds else 0,
                **{f"p{p}": percentile(values, p / 100) for p in (50, 95, 99)},
            }
            for name, values in sorted(self.latencies.items(), key=lambda item: item[0] != "wallet")
        }


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else None


def load(url, key, members, *, seconds, until=None, rates=None, senders=32):
    """Sends the calls for `seconds` (or until `until()`, a cheap check such as Event.is_set, is true); returns
    (summary per call, seconds)."""
    rates = rates or {"wallet": 40, "redeem": 10}
    calls, results = queue.Queue(), Results()
    threads = [threading.Thread(target=_send, args=(url, key, calls, results), daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    _schedule(members, rates, calls, started, seconds, until)
    ended = time.monotonic()
    for _ in threads:
        calls.put(None)
    for thread in threads:
        thread.join(timeout=60)
    return results.summary(ended - started), ended - started


def _schedule(members, rates, calls, started, seconds, until):
    """Puts each call on the queue at its send time: call n of a kind at started + n / rate."""
    next_at = dict.fromkeys(rates, started)
    while time.monotonic() - started < seconds and not (until is not None and until()):
        name = min(next_at, key=next_at.get)
        delay = next_at[name] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        calls.put((name, next_at[name], getattr(members, name)()))
        next_at[name] += 1 / rates[name]


def _send(url, key, calls, results):
    session = requests.Session()  # one per thread: a Session is not reliably thread-safe
    session.mount("http://", HTTPAdapter(pool_maxsize=1))
    headers = {"Authorization": f"Bearer {key}"}
    while (item := calls.get()) is not None:
        name, scheduled, (method, path, body) = item
        try:
            response = session.request(method, url + path, json=body, headers=headers, timeout=30)
            ok = response.status_code in (200, 409)  # 409: redeemed before by another order; a full answer
        except requests.RequestException:
            ok = False
        results.add(name, (time.monotonic() - scheduled) * 1000, ok)
