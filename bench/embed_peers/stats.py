"""Medians, p90s and the issue's targets, from the visits' metrics (no browser here)."""

from __future__ import annotations

import math
import statistics
from typing import Any

METRICS = (
    "banner_ms", "after_bytes_ms", "requests", "bytes", "tbt_ms", "cls", "lcp_ms", "hidden_ms", "input_ms", "handlers_ms", "gated_ms",
)  # fmt: skip
CONDITIONS = ("unthrottled", "slow4g-cpu4")
ZGODA = ("zgoda-site", "zgoda-embed")
# Issue 13, item 7.
BANNER_SHARE = 0.90
HIDDEN_MS = 50.0
BUDGET_BYTES = 6 * 1024


def p90(values: list[float]) -> float:
    """The 90th percentile by nearest rank (with 15 runs: the 14th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, tuple[float, float]]]:
    """Per metric, the median and p90 of the runs that completed."""
    if not runs:
        raise ValueError("no completed runs to summarize")
    return {
        key: (statistics.median(r[key] for r in runs), p90([r[key] for r in runs]))
        for key in METRICS
    }


Summaries = dict[str, dict[str, dict[str, dict[str, tuple[float, float]]]]]


def verdicts(summaries: Summaries, embed_gzip: int) -> list[tuple[str, str, bool]]:
    """The targets as (target, what was measured, met) for each Zgoda variant measured.

    `summaries` is condition -> candidate -> summarize(); peers are the candidates whose
    key does not start with "zgoda".
    """
    found: list[tuple[str, str, bool]] = []
    for condition in CONDITIONS:
        if condition not in summaries:
            continue
        by = summaries[condition]
        peers = {k: v for k, v in by.items() if not k.startswith("zgoda")}
        if not peers:
            raise ValueError(f"no peer measured under {condition}")
        fastest = min(peers, key=lambda k: peers[k]["banner_ms"][0])
        limit = BANNER_SHARE * peers[fastest]["banner_ms"][0]
        lightest = min(v["bytes"][0] for v in peers.values())
        for z in (z for z in ZGODA if z in by):
            ms = by[z]["banner_ms"][0]
            found.append(
                (
                    f"{z}, {condition}: banner visible <= 90 % of the fastest peer ({fastest})",
                    f"{ms:.0f} ms = {ms / peers[fastest]['banner_ms'][0]:.0%} (limit {limit:.0f} ms)",
                    ms <= limit,
                )
            )
            size = by[z]["bytes"][0]
            found.append(
                (
                    f"{z}, {condition}: bytes before the banner the smallest",
                    f"{size:.0f} B against the lightest peer's {lightest:.0f} B",
                    size < lightest,
                )
            )
            worst = by[z]["cls"][1]
            found.append(
                (f"{z}, {condition}: zero layout shift", f"p90 CLS {worst:.4f}", worst == 0)
            )
            if condition == "slow4g-cpu4":
                hidden = by[z]["hidden_ms"]
                found.append(
                    (
                        f"{z}, {condition}: click -> banner hidden <= 50 ms",
                        f"median {hidden[0]:.0f} ms, p90 {hidden[1]:.0f} ms",
                        hidden[0] <= HIDDEN_MS,
                    )
                )
    found.append(
        (
            "the embed with its CSS <= 6 KB gzip (/embed.js as served)",
            f"{embed_gzip} B of {BUDGET_BYTES}",
            embed_gzip <= BUDGET_BYTES,
        )
    )
    return found


def table(summaries: Summaries, names: dict[str, str]) -> str:
    """The results as a Markdown table: median (p90) per metric, per condition and candidate."""
    rows = [
        "| condition | candidate | banner visible ms | of it, after the last byte ms | requests before | KB before | TBT ms | CLS | LCP ms | click → hidden ms | of it, input delay ms | of it, click handlers ms | click → gated ran ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    formats = {"bytes": lambda v: f"{v / 1024:.1f}", "cls": lambda v: f"{v:.3f}"}
    for condition, by in summaries.items():
        for key, s in by.items():
            cells = []
            for metric in METRICS:
                show = formats.get(metric, lambda v: f"{v:.0f}")
                median, high = s[metric]
                cells.append(f"{show(median)} ({show(high)})")
            rows.append(f"| {condition} | {names[key]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
