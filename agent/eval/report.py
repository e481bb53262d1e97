"""report.md and report.html of an eval run, or of two runs side by side with their per-turn differences."""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.eval.metrics import EXPLICIT, VAGUE, Row, failed_edit, worst_dialogues
from agent.eval.run import EvalRun, GalleryImage, notable_settings, slug
from graphs.storage.store import ImageStore, get_image

THUMBNAIL = 256  # longest side of the images inlined into report.html
_MD_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#!|&~])")  # backslash-escapable in CommonMark and GFM
COMPARED = ("predicted", "instruction", "tool", "undo_steps", "head", "image")
_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f0f0f0}.note{color:#555}figure{display:inline-block;margin:.3em;max-width:260px;vertical-align:top}
figcaption{font-size:.8em;color:#444}"""


@dataclass(frozen=True)
class Section:
    """A report section: a heading, an optional note, a table and/or a gallery of image strips."""

    title: str
    note: str = ""
    header: Sequence[str] = ()
    rows: Sequence[Sequence[Any]] = ()
    galleries: dict[str, list[GalleryImage]] = field(default_factory=dict)


def run_sections(run: EvalRun) -> list[Section]:
    """The sections of one run's report."""
    m = run.metrics
    per_action = [
        [a, _f(s["precision"]), _f(s["recall"]), _f(s["f1"]), s["support"]] for a, s in m["per_action"].items()
    ]
    labels = list(m["confusion"])
    confusion = [[e, *(m["confusion"][e][p] for p in labels)] for e in labels]
    worst = [[w["file"], w["dialogue"], w["errors"], _misses(w["turns"])] for w in worst_dialogues(run.rows)]
    failed = [
        [r["file"], r["dialogue"], r["turn"], r["user"], r["tool"], r["error"]] for r in run.rows if failed_edit(r)
    ]
    return [
        Section("Configuration", "Settings at their defaults are left out; metrics.json records them all.",
                ("setting", "value"), list(notable_settings(run.config).items())),
        Section("Scores", _DEFINITIONS, ("metric", "value"), [(k, _f(v)) for k, v in summary(m).items()]),
        Section("Per action", header=("expected", "precision", "recall", "F1", "support"), rows=per_action),
        Section("Confusion matrix", "Rows: expected; columns: predicted.", ("expected", *labels), confusion),
        Section("Worst dialogues", "" if worst else "No dialogue had a miss.", ("file", "dialogue", "misses", "turns"),
                worst),
        Section("Failed edits", "A failed edit counts as the right decision when an edit was expected; the image "
                "is unchanged." if failed else "No edit failed.", ("file", "dialogue", "turn", "user", "tool", "error"),
                failed),
        Section("Gallery", "Each revision of the dialogues with their own image." if run.galleries else
                "No dialogue brought its own image.", galleries=run.galleries),
    ]  # fmt: skip


_DEFINITIONS = (
    f"Vague turns expect {'/'.join(sorted(VAGUE))}; explicit turns expect {'/'.join(sorted(EXPLICIT))}. "
    "L1 is the mean absolute RGB difference in [0, 1]. Latency is per turn, nearest-rank percentiles. "
    "model_failures: turns whose dialogue-model call failed (scored as they ended, usually chat)."
)


def summary(m: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of a metrics document, flat."""
    keys = ("turns", "dialogues", "accuracy", "macro_f1", "instruction_keyword_hit_rate", "undo_steps_exact",
            "clarification_rate_explicit", "clarification_rate_vague", "model_calls_per_turn", "model_failures",
            "failed_edits", "latency_p50_s", "latency_p95_s")  # fmt: skip
    image = {k: v for k, v in m["image"].items() if k != "clip"}
    return {**{k: m[k] for k in keys}, **image, "clip": m["image"].get("clip", "")}


def comparison_sections(a: EvalRun, b: EvalRun) -> list[Section]:
    """Two runs side by side: settings, scores, per-action F1, and every turn where they differ."""
    keys = [*a.config, *(k for k in b.config if k not in a.config)]
    settings = [(k, a.config.get(k), b.config.get(k)) for k in keys if a.config.get(k) != b.config.get(k)]
    sa, sb = summary(a.metrics), summary(b.metrics)
    scores = [(k, _f(sa[k]), _f(sb[k]), _delta(sa[k], sb[k])) for k in sa]
    f1 = [
        (k, _f(v["f1"]), _f(b.metrics["per_action"][k]["f1"]), v["support"]) for k, v in a.metrics["per_action"].items()
    ]
    changed = differences(a.rows, b.rows)
    turns = [
        (d["file"], d["dialogue"], d["turn"], d["user"], d["expect"], _side(d["a"]), _side(d["b"])) for d in changed
    ]
    return [
        Section("Settings that differ", header=("setting", a.label, b.label), rows=settings),
        Section("Scores", _DEFINITIONS, ("metric", a.label, b.label, f"{b.label} - {a.label}"), scores),
        Section("F1 per action", header=("expected", a.label, b.label, "support"), rows=f1),
        Section("Per-turn differences", f"{len(changed)} of {len(a.rows)} turns differ in " + ", ".join(COMPARED) +
                ". Full reports: " + f"{a.label}/report.html, {b.label}/report.html.",
                ("file", "dialogue", "turn", "user", "expected", a.label, b.label), turns),
    ]  # fmt: skip


def differences(a: Sequence[Row], b: Sequence[Row]) -> list[dict[str, Any]]:
    """Turns (matched by file, dialogue and turn) whose decision, instruction, tool, steps or image differ."""
    index = {(r["file"], r["dialogue"], r["turn"]): r for r in b}
    found = []
    for row in a:
        other = index.get((row["file"], row["dialogue"], row["turn"]))
        if other is None or any(row[k] != other[k] for k in COMPARED):
            found.append({**{k: row[k] for k in ("file", "dialogue", "turn", "user", "expect")}, "a": row, "b": other})
    return found


def to_markdown(title: str, sections: Sequence[Section], image_path: Callable[[str, GalleryImage], str]) -> str:
    """The report as Markdown; gallery images are links to files next to it."""
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""] + ([section.note, ""] if section.note else [])
        if section.header and section.rows:
            lines.append("| " + " | ".join(map(str, section.header)) + " |")
            lines.append("|" + " --- |" * len(section.header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in section.rows]
            lines.append("")
        for name, images in section.galleries.items():
            lines += [f"### {_md_text(name)}", ""]
            lines += [f"![{_md_text(i.caption)}]({image_path(name, i)}) {_md_text(i.caption)}  " for i in images]
            lines.append("")
    return "\n".join(lines)


def to_html(title: str, sections: Sequence[Section], image_src: Callable[[str, GalleryImage], str]) -> str:
    """The report as one self-contained HTML page (images inline as data URIs)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]  # fmt: skip
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.note:
            parts.append(f"<p class='note'>{html.escape(section.note)}</p>")
        if section.header and section.rows:
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in section.header) + "</tr>")
            for row in section.rows:
                parts.append("<tr>" + "".join(f"<td>{html.escape(_text(c))}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        for name, images in section.galleries.items():
            parts.append(f"<h3>{html.escape(name)}</h3><div>")
            for image in images:
                caption = html.escape(image.caption)
                parts.append(f"<figure><img src='{image_src(name, image)}' alt='{caption}'>"
                             f"<figcaption>{caption}</figcaption></figure>")  # fmt: skip
            parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run: EvalRun, out: Path, title: str = "dialogpaint eval") -> None:
    """report.md (gallery images written under gallery/) and self-contained report.html."""
    sections = run_sections(run)
    store = run.store

    def image_path(name: str, image: GalleryImage) -> str:
        relative = f"gallery/{slug(name)}/{image.turn:02d}.png"
        if store is not None:
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            (out / relative).write_bytes(store.get(image.key))
        return relative

    (out / "report.md").write_text(to_markdown(title, sections, image_path), encoding="utf-8")
    inline = (lambda _, image: data_uri(store, image.key)) if store is not None else image_path
    (out / "report.html").write_text(to_html(title, sections, inline), encoding="utf-8")


def write_comparison(a: EvalRun, b: EvalRun, out: Path) -> None:
    """report.md and report.html comparing two runs (each run's own report is in its folder)."""
    title = f"dialogpaint eval: {a.label} vs {b.label}"
    sections = comparison_sections(a, b)
    (out / "report.md").write_text(to_markdown(title, sections, lambda n, i: ""), encoding="utf-8")
    (out / "report.html").write_text(to_html(title, sections, lambda n, i: ""), encoding="utf-8")


def data_uri(store: ImageStore, key: str) -> str:
    """A PNG thumbnail of a stored image as a data URI."""
    image = get_image(store, key)
    image.thumbnail((THUMBNAIL, THUMBNAIL))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _misses(turns: Sequence[Row]) -> str:
    notes = []
    for t in turns:
        if not t["correct"]:
            notes.append(f"t{t['turn']} {t['user']!r}: expected {t['expect']}, got {t['predicted']}")
        elif t["keywords_hit"] is False:
            notes.append(
                f"t{t['turn']} {t['user']!r}: instruction {t['instruction']!r} lacks {t['instruction_contains']}"
            )
        elif t["steps_exact"] is False:
            notes.append(f"t{t['turn']} {t['user']!r}: undid {t['undo_steps']}, expected {t['expected_undo_steps']}")
    return "; ".join(notes)


def _side(row: Row | None) -> str:
    if row is None:
        return "(missing)"
    what = str(row["predicted"]) + (f" ({row['action']})" if row["action"] != row["predicted"] else "")
    what += f": {row['instruction']}" if row["instruction"] else ""
    return what + (f" [{row['tool']}]" if row["tool"] else "") + f" head {row['head']}"


def _f(value: Any) -> Any:
    return f"{value:.3f}" if isinstance(value, float) else ("-" if value is None else value)


def _delta(a: Any, b: Any) -> str:
    numbers = isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool)
    if numbers and isinstance(a, int) and isinstance(b, int):
        return f"{b - a:+d}"  # a count: "-12", not "-12.000"
    return f"{b - a:+.3f}" if numbers else ""


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def _md_text(value: Any) -> str:
    # A user's instruction may hold "]" or ")", which would end an image's alt text or path early.
    return _MD_PUNCTUATION.sub(r"\\\1", _text(value)).replace("\n", " ")


def _md_cell(value: Any) -> str:
    return _text(value).replace("|", "\\|").replace("\n", " ")
