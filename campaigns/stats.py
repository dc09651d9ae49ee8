"""Lift between a campaign's two groups: a two-proportion z-test, in a few lines (no scipy).

The issued group (members given the coupon) against the control group (members held out): x of n in
each converted. The test statistic uses the pooled proportion (the null hypothesis: no difference); the
95 % interval of the difference uses each group's own proportion (Wald), as textbooks give them:

    z = (p1 − p2) / sqrt(p (1 − p) (1/n1 + 1/n2)),  p = (x1 + x2) / (n1 + n2)
    p1 − p2 ± 1.96 · sqrt(p1 (1 − p1) / n1 + p2 (1 − p2) / n2)
"""

import math
from dataclasses import dataclass

Z_95 = 1.959964


@dataclass(frozen=True)
class Lift:
    p1: float  # the issued group's rate
    p2: float  # the control group's rate
    difference: float
    low: float
    high: float
    z: float
    p_value: float  # two-sided

    @property
    def significant(self):
        """The 95 % interval leaves zero out: the difference is not chance, at that level."""
        return self.low > 0 or self.high < 0


def two_proportion(*, x1: int, n1: int, x2: int, n2: int) -> Lift | None:
    """The lift of group 1 over group 2; None until both groups have members."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    null_error = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p1 - p2) / null_error if null_error else 0.0
    margin = Z_95 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return Lift(p1, p2, p1 - p2, p1 - p2 - margin, p1 - p2 + margin, z, math.erfc(abs(z) / math.sqrt(2)))
