"""Line charts drawn on the server as SVG: no chart library, no CDN, readable without JavaScript.

``line_chart`` turns a few daily series into coordinates; ``templates/admin/_chart.html`` draws
them with a title, a description and a table of the same numbers for screen readers and for
anyone who wants the figures rather than the picture.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Sequence

Number = int | Decimal | None


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int | Decimal
    day: date


@dataclass(frozen=True)
class Series:
    """One line: its key (CSS class and legend), its points, and the SVG path through them."""

    key: str
    label: str
    points: list[Point]
    color: str

    @property
    def path(self) -> str:
        """``M``/``L`` commands; a day without a value (no orders that day) breaks the line."""
        commands, previous = [], None
        for point in self.points:
            joined = previous is not None and (point.day - previous.day).days == 1
            commands.append(f"{'L' if joined else 'M'}{point.x:.1f},{point.y:.1f}")
            previous = point
        return " ".join(commands)


@dataclass(frozen=True)
class Tick:
    y: float
    value: Decimal


@dataclass(frozen=True)
class Label:
    x: float
    day: date


@dataclass(frozen=True)
class LineChart:
    """Everything the template needs to draw one chart."""

    width: int
    height: int
    left: int
    top: int
    bottom: float
    right: float
    series: list[Series]
    ticks: list[Tick]
    labels: list[Label]
    days: list[date]
    rows: list[tuple[date, list[Number]]]

    @property
    def places(self) -> int:
        """Decimals the axis's tick labels need (0 when every tick is a whole number)."""
        return 0 if all(tick.value == tick.value.to_integral_value() for tick in self.ticks) else 2


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at least ``value`` (a round step between the axis's ticks)."""
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (value.adjusted())
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * magnitude:
            return (step * magnitude).normalize()
    raise AssertionError("unreachable")  # pragma: no cover


COLORS = ("#008060", "#6c4bc2", "#b98900", "#2c6ecb")
"""Line colours in series order (Polaris's success, magenta-ish, warning and interactive tones)."""


def line_chart(days: Sequence[date], series: Sequence[tuple[str, str, Sequence[Number]]], *, width: int = 720,
               height: int = 240, left: int = 56, top: int = 12, right_pad: int = 24, bottom_pad: int = 28,
               ticks: int = 4, labels: int = 5) -> LineChart:
    """Coordinates for ``series`` (key, label, one value or None per day) over ``days``, scaled to a round top."""
    values = [Decimal(v) for _, _, vs in series for v in vs if v is not None]
    tick_step = nice_ceiling(max(values, default=Decimal(0)) / ticks)
    top_value = tick_step * ticks
    plot_w, plot_h = width - left - right_pad, height - top - bottom_pad
    bottom = top + plot_h
    step = plot_w / max(len(days) - 1, 1)

    def y_of(value: int | Decimal) -> float:
        return bottom - float(Decimal(value) / top_value) * plot_h

    drawn = [Series(key, label, [Point(left + i * step, y_of(v), v, day) for i, (day, v) in enumerate(zip(days, vs))
                                 if v is not None], COLORS[n % len(COLORS)])
             for n, (key, label, vs) in enumerate(series)]
    tick_list = [Tick(y_of(tick_step * k), tick_step * k) for k in range(ticks + 1)]
    count = min(labels, len(days))
    picks = sorted({round(i * (len(days) - 1) / max(count - 1, 1)) for i in range(count)}) if days else []
    return LineChart(width, height, left, top, bottom, width - right_pad, drawn, tick_list,
                     [Label(left + i * step, days[i]) for i in picks], list(days),
                     [(day, [vs[i] for _, _, vs in series]) for i, day in enumerate(days)])
