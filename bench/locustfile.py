"""Locust users for bench/api.py (run by it, headless, in a process of its own). No Django here.

The layout of the issued coupons comes from the environment, as bench/api.py seeded it: member k
(0 ≤ k < BENCH_MEMBERS, user id BENCH_FIRST_MEMBER + k) holds the coupons i ≡ k (mod 20) of the
BENCH_COUPONS coupons named BENCH_COUPON_PREFIX + i.
"""

import itertools
import os
import random
import uuid

from locust import FastHttpUser, task

KEY = os.environ.get("BENCH_API_KEY", "")
MEMBERS = int(os.environ.get("BENCH_MEMBERS", "1"))
FIRST_MEMBER = int(os.environ.get("BENCH_FIRST_MEMBER", "1"))
COUPONS = int(os.environ.get("BENCH_COUPONS", "200"))
PREFIX = os.environ.get("BENCH_COUPON_PREFIX", "BENCHAPI-")
BULK_COUPON = os.environ.get("BENCH_BULK_COUPON", "")
BULK_FIRST_ID = int(os.environ.get("BENCH_BULK_FIRST_ID", "1"))
IDS_PER_CALL = int(os.environ.get("BENCH_IDS_PER_CALL", "10000"))
_batches = itertools.count()  # one locust process: every user takes the next range of ids
HEADERS = {"Authorization": f"Bearer {KEY}"}


def a_held_coupon():
    member = random.randrange(MEMBERS)
    coupon = member % 20 + 20 * random.randrange(COUPONS // 20)
    return FIRST_MEMBER + member, f"{PREFIX}{coupon:03d}"


class Member(FastHttpUser):
    """A storefront showing wallets and a checkout redeeming coupons, three look-ups to one redeem."""

    @task(3)
    def wallet(self):
        user_id = FIRST_MEMBER + random.randrange(MEMBERS)
        self.client.get(f"/api/v1/members/{user_id}/coupons", headers=HEADERS, name="wallet")

    @task(1)
    def redeem(self):
        user_id, code = a_held_coupon()
        # 409: another order of this run redeemed it first; still a complete, correct answer
        with self.client.post(
            f"/api/v1/members/{user_id}/coupons/{code}/redeem",
            json={"order_id": uuid.uuid4().hex},
            headers=HEADERS,
            name="redeem",
            catch_response=True,
        ) as response:
            if response.status_code in (200, 409):
                response.success()


class BulkIssuer(FastHttpUser):
    """A CRM handing one coupon to its audience, IDS_PER_CALL members per call."""

    @task
    def issue(self):
        first = BULK_FIRST_ID + next(_batches) * IDS_PER_CALL
        body = {"user_ids": list(range(first, first + IDS_PER_CALL))}
        self.client.post(
            f"/api/v1/coupons/{BULK_COUPON}/issue",
            json=body,
            headers={**HEADERS, "Idempotency-Key": uuid.uuid4().hex},
            name="issue 10,000 ids",
        )
