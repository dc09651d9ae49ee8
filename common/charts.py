"""Bar charts drawn on the server as SVG geometry: no script, no CDN, works offline.

The templates (admin/couponops/overview.html) draw what these return; all arithmetic is here.
"""

import math
from dataclasses import dataclass


@dataclass
class Bar:
    key: str
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float

    def __post_init__(self):  # tenths of a pixel are plenty, and keep the SVG short
        self.x, self.y, self.width, self.height = (round(v, 1) for v in (self.x, self.y, self.width, self.height))

    @property
    def right(self):
        return round(self.x + self.width, 1)

    @property
    def center(self):
        return round(self.x + self.width / 2, 1)

    @property
    def bottom(self):
        return round(self.y + self.height, 1)


def nice_ceiling(value):
    """The smallest 1, 2 or 5 × 10^k at or above `value` (at least 1): a readable axis maximum."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def columns(points, *, width=720, height=220, left=64, right=36, bottom=26, top=8):
    """Vertical bars for (key, label, value) points, e.g. coupons per day; with gridlines as (value, y)."""
    top_value = nice_ceiling(max((value for *_, value in points), default=0))
    plot_width, plot_height = width - left - right, height - bottom - top
    step = plot_width / max(1, len(points))
    bars = []
    for i, (key, label, value) in enumerate(points):
        bar_height = plot_height * value / top_value
        bars.append(
            Bar(
                key, label, value, left + i * step + step * 0.15, top + plot_height - bar_height, step * 0.7, bar_height
            )
        )
    grid = [(top_value * k // 4, round(top + plot_height - plot_height * k / 4, 1)) for k in range(5)]
    return {"bars": bars, "grid": grid, "width": width, "height": height, "left": left, "right": width - right}


def rows(points, *, width=720, row_height=26, left=150, right=90):
    """Horizontal bars for (label, value) points, e.g. coupons per coupon code, the largest first."""
    top_value = max((value for _, value in points), default=0) or 1
    plot_width = width - left - right
    bars = [
        Bar(label, label, value, left, i * row_height + 4, plot_width * value / top_value, row_height - 8)
        for i, (label, value) in enumerate(points)
    ]
    return {"bars": bars, "width": width, "height": max(1, len(points)) * row_height, "left": left}
