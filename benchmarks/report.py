"""The report of `make bench`: a Markdown table and the same figures in JSON."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from .harness import Environment, Figure

HERE = Path(__file__).resolve().parent


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def markdown(env: Environment, figures: list[Figure]) -> str:
    lines = [
        "# django-defacto benchmarks",
        "",
        f"Database: {env.vendor}; Python {platform.python_version()}; {env.started_at}. "
        "Each figure was measured beside its baseline in the same run: compare ratios, "
        "not absolute values, between machines.",
        "",
        "| section | figure | value | baseline | baseline value | ratio | goal | met | notes |",
        "|---|---|---:|---|---:|---:|---|---|---|",
    ]
    for f in figures:
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[f.met]
        lines.append(
            f"| {f.section} | {f.name} | {_number(f.value, f.unit)} | {f.baseline_name} | "
            f"{_number(f.baseline, f.unit)} | {ratio} | {f.goal} | {met} | {f.notes} |"
        )
    explained = [f for f in figures if f.explanation]
    if explained:
        lines += ["", "## Goals missed: the profiles"]
        for f in explained:
            lines += ["", f"### {f.section}: {f.name}", "", f.explanation]
    return "\n".join(lines) + "\n"


def write(env: Environment, figures: list[Figure], other: list[str]) -> str:
    text = markdown(env, figures)
    if other:
        text += "\n## Client and sandbox\n\n```\n" + "\n".join(other) + "\n```\n"
    (HERE / "report.md").write_text(text)
    (HERE / "report.json").write_text(
        json.dumps(
            {
                "database": env.vendor,
                "python": platform.python_version(),
                "started_at": env.started_at,
                "figures": [f.as_dict() for f in figures],
                "client_and_sandbox": other,
            },
            indent=2,
        )
    )
    return text
