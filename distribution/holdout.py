"""Control groups: which members of a coupon's audiences are held out, decided by a salted hash.

A member is held out of coupon C when `(id × a + b) mod P < T`, with P = 2^31 − 1 (a prime), `a` the
coupon's salt, `b` derived from it, and T = P × basis points / 10,000. No list is stored to decide: the
same member is held out of every request, schedule run and Coupon API call of the coupon.

The formula is written twice, once here in Python (the worker's split of each chunk, the API) and once
as SQL (the preview's count, on Trino and DuckDB alike), in plain 64-bit integer arithmetic: the id is
reduced mod P first, so no product reaches 2^62 and no engine overflows or rounds. tests/test_holdout.py
proves both give the same answer over many ids on both engines.

Why one affine round and not several rounds of mixing: the worker decides every id of a 10,000,000 run in
Python, and each further operation costs about a second there (the run takes about 22 s). A salt drawn
per coupon picks the multiplier, so two coupons' control groups overlap as independent draws would
(tested), and the held-out share of any stretch of ids is the percentage within a fraction of a point.
"""

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PRIME = 2**31 - 1
SCALE = 10_000  # basis points in one whole
OFFSET_FACTOR = 48_271  # b = a × this mod P: a second constant from the one salt


def new_salt() -> int:
    """A coupon's salt: a multiplier in [2, P − 1] (never 0 or 1, which would not scramble)."""
    return 2 + secrets.randbelow(PRIME - 2)


@dataclass(frozen=True)
class Holdout:
    """A coupon's control-group rule: its salt and the share held out, in basis points (1 % = 100)."""

    salt: int
    basis_points: int

    @property
    def offset(self) -> int:
        return self.salt * OFFSET_FACTOR % PRIME

    @property
    def threshold(self) -> int:
        return PRIME * self.basis_points // SCALE

    def holds_out(self, user_id: int) -> bool:
        return (user_id * self.salt + self.offset) % PRIME < self.threshold

    def split(self, user_ids: list[int]) -> tuple[list[int], list[int]]:
        """(kept, held out), each in the order given. Written out inline: this runs for every id of a run."""
        a, b, t = self.salt, self.offset, self.threshold
        held = [i for i in user_ids if (i * a + b) % PRIME < t]
        if not held:
            return user_ids, []
        out = set(held)
        return [i for i in user_ids if i not in out], held

    def sql(self, column: str) -> str:
        """The same decision as a SQL condition on a positive BIGINT expression `column`; Trino and
        DuckDB compute it alike (every intermediate value stays below 2^63)."""
        return f"((({column}) % {PRIME}) * {self.salt} + {self.offset}) % {PRIME} < {self.threshold}"


def coupon_holdout(coupon) -> Holdout | None:
    """The coupon's rule, or None when it keeps no control group."""
    basis_points = round(coupon.holdout_percent * 100) if coupon.holdout_percent else 0
    return Holdout(coupon.holdout_salt, basis_points) if basis_points else None


def holdout_split(coupon, user_ids: list[int]) -> tuple[list[int], list[int]]:
    """(kept, held out) of ascending ids for the coupon; everything kept when it keeps no control group."""
    rule = coupon_holdout(coupon)
    return rule.split(user_ids) if rule else (user_ids, [])


def check_holdout_change(coupon):
    """Raises ValidationError (on the percentage) when a coupon that has issued or held anyone out
    would change its control group: the comparison of the two groups would mean nothing."""
    if coupon.pk is None:
        return
    before = type(coupon).objects.filter(pk=coupon.pk).values_list("holdout_percent", flat=True).first()
    if before is None or before == coupon.holdout_percent:
        return
    if coupon.issued_so_far() or coupon.distributions.filter(held_out_count__gt=0).exists():
        raise ValidationError(
            {
                "holdout_percent": _(
                    "The control group cannot change once the coupon has been issued: the comparison with "
                    "the members who got it would break. Create a new coupon for a new campaign."
                )
            }
        )
