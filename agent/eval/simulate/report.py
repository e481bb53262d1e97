"""report.md and report.html of a simulated-user run: the tables of agent.eval.report and a trade-off plot.

The plot is an SVG of grouped bars (success within 3 turns and questions per case, by opening rule,
one bar per agent), inlined into report.html and written as plot-*.svg beside report.md.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.eval.report import Section, to_html, to_markdown
from agent.eval.run import GalleryImage, notable_settings
from agent.eval.simulate.run import AgentRun
from agent.eval.simulate.scores import __doc__ as DEFINITIONS

COLUMNS = (
    "success_rate", "success_within_3", "mean_turns_to_success", "questions_per_case", "proposals_per_case",
    "unneeded_questions", "ask_rate_explicit", "wrong_edits_per_case", "undos_per_case", "failed_edits",
)  # fmt: skip
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
PLOTTED = (("success_within_3", "success within 3 turns", 1.0), ("questions_per_case", "questions per case", None))


def table_rows(runs: Sequence[AgentRun], pick: str, key: str | None = None) -> list[list[Any]]:
    """One row per (group, agent): the group's scores in COLUMNS order."""
    groups = [("overall", None)] if key is None else [(g, g) for g in runs[0].scores[pick]]
    rows = []
    for group, name in groups:
        for run in runs:
            s = run.scores["overall"] if name is None else run.scores[pick][name]
            rows.append([group, run.agent, s["cases"], *(_f(s.get(c)) for c in COLUMNS)])
    return rows


def sections(runs: Sequence[AgentRun], config: dict[str, Any], notes: dict[str, str]) -> list[Section]:
    """The report's sections."""
    header = ("group", "agent", "cases", *COLUMNS)
    plots = {title: [GalleryImage(i, title, f"plot:{metric}")] for i, (metric, title, _) in enumerate(PLOTTED)}
    return [
        Section("Configuration", "Settings at their defaults are left out; metrics.json records them all.",
                ("setting", "value"), [*notable_settings(config).items(), *notes.items()]),
        Section("Overall", DEFINITIONS.split("\n\n", 1)[1].replace("\n", " ") if DEFINITIONS else "", header,
                table_rows(runs, "overall")),
        Section("By opening rule", header=header, rows=table_rows(runs, "by_rule", "rule")),
        Section("By editor", "cpu: goals of the CPU tools (exact recipe); generative: goals of the generative "
                "editor (object and change in the executed instruction).", header,
                table_rows(runs, "by_editor", "e")),
        Section("By goal size", "single: goals of one edit; multi: goals of two or three edits.", header,
                table_rows(runs, "by_goal", "g")),
        Section("Goals of one edit, by opening rule", header=header, rows=table_rows(runs, "single_by_rule", "r")),
        Section("Goals of several edits, by opening rule", header=header,
                rows=table_rows(runs, "multi_by_rule", "r")),
        Section("Trade-off", "By opening rule, one bar per agent.", galleries=plots),
        Section("Failures", "Cases an agent did not finish, with the user's messages.",
                ("agent", "case", "rule", "turns"),
                [[r.agent, c.case.id, c.case.rule, " / ".join(t["user"] for t in c.transcript)]
                 for r in runs for c in r.results if not c.success][:200]),
    ]  # fmt: skip


def bar_chart(runs: Sequence[AgentRun], metric: str, title: str, top: float | None) -> str:
    """Grouped bars of ``metric`` by opening rule, one colour per agent, as a standalone SVG."""
    rules = list(runs[0].scores["by_rule"])
    values = [[run.scores["by_rule"][rule].get(metric) or 0.0 for run in runs] for rule in rules]
    high = top or max([v for group in values for v in group] + [1e-9]) * 1.1
    width, height, left, bottom, group_w = 120 + 110 * len(rules), 300, 50, 40, 110
    bar = (group_w - 20) / max(1, len(runs))
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='sans-serif' "
             f"font-size='11'><text x='{left}' y='14' font-size='13'>{html.escape(title)}</text>",
             f"<line x1='{left}' y1='{height - bottom}' x2='{width - 60}' y2='{height - bottom}' stroke='#333'/>",
             f"<text x='4' y='34'>{high:.2f}</text><text x='4' y='{height - bottom}'>0</text>"]  # fmt: skip
    for g, rule in enumerate(rules):
        x0 = left + 10 + g * group_w
        for a, value in enumerate(values[g]):
            h = (height - bottom - 30) * value / high
            x = x0 + a * bar
            parts.append(f"<rect x='{x:.1f}' y='{height - bottom - h:.1f}' width='{bar - 2:.1f}' height='{h:.1f}' "
                         f"fill='{COLOURS[a % len(COLOURS)]}'><title>{runs[a].agent}: {value:.3f}</title>"
                         "</rect>")  # fmt: skip
        parts.append(f"<text x='{x0}' y='{height - bottom + 15}'>{html.escape(rule)}</text>")
    for a, run in enumerate(runs):
        parts.append(f"<rect x='{width - 55}' y='{30 + 16 * a}' width='10' height='10' fill='{COLOURS[a % 6]}'/>"
                     f"<text x='{width - 42}' y='{39 + 16 * a}'>{html.escape(run.agent)}</text>")  # fmt: skip
    return "".join(parts) + "</svg>"


def write_report(runs: Sequence[AgentRun], config: dict[str, Any], notes: dict[str, str], out: Path) -> None:
    """report.md with plot-*.svg beside it, and self-contained report.html."""
    svgs = {f"plot:{metric}": bar_chart(runs, metric, title, top) for metric, title, top in PLOTTED}
    parts = sections(runs, config, notes)

    def file(_: str, image: GalleryImage) -> str:
        name = image.key.replace(":", "-") + ".svg"
        (out / name).write_text(svgs[image.key], encoding="utf-8")
        return name

    def inline(_: str, image: GalleryImage) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(svgs[image.key].encode()).decode("ascii")

    title = "dialogpaint simulate"
    (out / "report.md").write_text(to_markdown(title, parts, file), encoding="utf-8")
    (out / "report.html").write_text(to_html(title, parts, inline), encoding="utf-8")


def _f(value: Any) -> Any:
    return f"{value:.3f}" if isinstance(value, float) else ("-" if value is None else value)
