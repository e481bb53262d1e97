"""Generate the shipped goal cases: CPU-tool goals from a catalogue, generative goals from EdiVal's instructions.

    python -m agent.eval.simulate.generate --edival PATH/TO/EdiVal/.git --out eval_sets/simulate/goals.jsonl

Every goal yields one case per opening rule that applies to it (eval_sets/simulate/README.md states the
rules): the explicit control, one with the object or the value dropped (``drop_operation`` where the
tool takes no value), an evaluative opening and an indirect one. CPU goals are the catalogue's own
text (provenance ``dialogpaint``); an explicit phrasing of the same edit found in the project's
corpus rows (the held-out ``val`` split, which the act model never trained on) or in eval_sets adds
an explicit case with that row's provenance. Generative goals come from EdiVal's
oai_instruction_generation_output.csv (first-turn instructions, the first rows of each task type).
Deterministic: the same inputs give the same file.
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.eval.simulate.cases import GENERATIVE, SimCase
from agent.eval.simulate.generate_multi import cpu_multi_cases, edival_multi_cases

ROOT = Path(__file__).resolve().parents[3]
EVALUATIVE = ("make it look better", "make it nicer", "improve the photo", "make it more interesting",
              "can you make it prettier", "make it pop", "fix it up, it needs something")  # fmt: skip
VAGUE_OPERATION = ("edit the photo", "change it", "do something with the picture", "tweak it a bit")
OURS = {"repo": "dialogpaint", "path": "agent/eval/simulate/generate.py", "license": "Apache-2.0"}
EDIVAL_CSV = "oai_instruction_generation_output.csv"
EDIVAL_LICENSE = "MIT and CC BY-SA 4.0 (badges of the upstream README)"
PER_TYPE = 8
# (id, tool, explicit instruction, params, dropped-value opening and answer or None, indirect opening, phrasing regex)
CATALOGUE: tuple[tuple[str, str, str, dict[str, Any], tuple[str, str] | None, str, str], ...] = (
    ("brighter", "adjust_tone", "make it brighter", {"brightness": {"gt": 1}}, ("adjust the brightness", "up"),
     "it's too dark", r"(make (it|the (image|photo|picture)) brighter|brighten (it|the (image|photo|picture)))"),
    ("darker", "adjust_tone", "make it darker", {"brightness": {"lt": 1}}, ("change the brightness", "down"),
     "it's way too bright", r"(make (it|the (image|photo|picture)) darker|darken (it|the (image|photo|picture)))"),
    ("contrast-up", "adjust_tone", "increase the contrast", {"contrast": {"gt": 1}}, ("adjust the contrast", "up"),
     "it looks flat", r"(increase|boost|add( more)?) (the )?contrast"),
    ("contrast-down", "adjust_tone", "reduce the contrast", {"contrast": {"lt": 1}}, ("change the contrast", "down"),
     "the contrast is too harsh", r"(reduce|decrease|lower) (the )?contrast"),
    ("vivid", "adjust_tone", "make the colors more vivid", {"saturation": {"gt": 1}},
     ("adjust the saturation", "up"), "the colours look dull", r"(increase|boost) (the )?saturation"),
    ("warmer", "adjust_tone", "make it warmer", {"warmth": {"gt": 0}}, ("adjust the warmth", "up"),
     "it feels too cold", r"make (it|the (image|photo|picture)) warmer"),
    ("grayscale", "grayscale", "make it black and white", {}, None, "I'd like it without any colour",
     r"(make|turn|convert) (it|the (image|photo|picture)) (to |into )?(black and white|grayscale|greyscale)"),
    ("sepia", "sepia", "apply a sepia filter", {}, None, "it should look like an old brown photograph",
     r"(apply|add) (a )?sepia( tone| filter| effect)?( to (it|the image))?|make it sepia"),
    ("invert", "invert", "invert the colors", {}, None, "I want it to look like a photo negative",
     r"invert (the |all the )?colou?rs"),
    ("tint-blue", "tint", "give it a blue tint", {"color": "blue"}, ("give it a tint", "blue"),
     "I want everything bathed in blue light", r"(give it|add) a blue tint"),
    ("tint-red", "tint", "give it a red tint", {"color": "red"}, ("add a colour tint", "red"),
     "I want it to glow red", r"(give it|add) a red tint"),
    ("posterize", "posterize", "posterize it", {}, None, "I want it to look like a flat screen print",
     r"posterize (it|the image)"),
    ("blur", "blur", "blur the image", {}, None, "it's too sharp and busy", r"blur (it|the (image|photo|picture))"),
    ("sharpen", "sharpen", "sharpen it", {}, None, "it's a bit blurry",
     r"sharpen (it|this image|the (image|photo|picture|pic))( a bit)?"),
    ("vignette", "vignette", "add a vignette", {}, None, "I want the corners darker to draw the eye to the middle",
     r"add a (slight )?vignette"),
    ("vintage", "vintage", "give it a vintage look", {}, None, "it looks too modern", r"give it a vintage look"),
    ("rotate-cw", "rotate", "rotate it 90 degrees clockwise", {"degrees": -90}, ("rotate it", "90 degrees clockwise"),
     "it's lying on its side", r"rotate (it|the (image|photo|picture)|image) 90 degrees clockwise"),
    ("rotate-ccw", "rotate", "rotate it 90 degrees counter-clockwise", {"degrees": 90},
     ("rotate the image", "90 degrees counter-clockwise"), "it leans the wrong way, a quarter turn off",
     r"rotate (it|the (image|photo|picture)) 90 degrees (counter-clockwise|anticlockwise)"),
    ("rotate-180", "rotate", "rotate it 180 degrees", {"degrees": [180, -180]}, ("turn it around", "180 degrees"),
     "it's upside down", r"rotate (it|the (image|photo|picture)) (180 degrees|upside down)"),
    ("flip-h", "flip", "flip it horizontally", {"direction": "horizontal"}, ("flip it", "horizontally"),
     "it's the wrong way round, like a mirror image", r"flip (it|the (image|photo|picture)) horizontally"),
    ("flip-v", "flip", "flip it vertically", {"direction": "vertical"}, ("flip the image", "vertically"),
     "the reflection should be on top", r"flip (it|the (image|photo|picture)) vertically"),
    ("crop-left", "crop", "crop to the left half", {"right": 0.5, "left": 0, "top": 0, "bottom": 0},
     ("crop it", "to the left half"), "there's too much going on in the right half", r"crop to the left half"),
    ("crop-top", "crop", "crop to the top half", {"bottom": 0.5, "left": 0, "top": 0, "right": 0},
     ("crop the image", "to the top half"), "the bottom half is just clutter", r"crop to the top half"),
    ("resize-half", "resize", "resize it to 50%", {"scale": 0.5}, ("resize it", "to half the size"),
     "the file is too big to send", r"resize (it|the image) to (50%|half( the size)?)"),
    ("resize-320", "resize", "resize it to 320 pixels wide", {"width": 320}, ("change the size", "320 pixels wide"),
     "it has to fit a 320 pixel column", r"resize (it|the image) to 320 (pixels|px) wide"),
)  # fmt: skip
# EdiVal task type: (change words, dropped piece, opening with the piece dropped, indirect opening)
EDIVAL_TYPES = {
    "color_alter": ("object", "make it {value}", "the {object} doesn't look right in that colour"),
    "subject_replace": ("value", "replace the {object}", "I'm tired of seeing the {object} there"),
    "background_change": ("value", "change the background", "the background is boring"),
    "material_alter": ("value", "change the material of the {object}", "the {object} looks cheap"),
    "subject_remove": ("object", "remove something", "the {object} is distracting"),
    "subject_add": ("object", "add something", "the picture feels empty"),
}
EDIVAL_PATTERNS = {
    "color_alter": r"Change the color of \[(?P<object>[^\]]+)\] to \[(?P<value>[^\]]+)\]",
    "subject_replace": r"Replace \[(?P<object>[^\]]+)\] with \[(?P<value>[^\]]+)\]",
    "background_change": r"Change the background to \[(?P<value>[^\]]+)\]",
    "material_alter": r"Change the material of \[(?P<object>[^\]]+)\] to \[(?P<value>[^\]]+)\]",
    "subject_remove": r"Remove \[(?P<object>[^\]]+)\]",
    "subject_add": r"Add \[(?P<object>[^\]]+)\] on the \[(?P<side>[^\]]+)\] of \[(?P<anchor>[^\]]+)\]",
}


def case(  # noqa: PLR0917 - one row, its parts in the order of the format
    cid: str, rule: str, opening: str, goal: dict[str, Any], source: dict[str, Any],
         missing: tuple[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """One validated case row."""
    row = {"id": cid, "rule": rule, "opening": opening, "goal": [goal], "source": source}
    if missing is not None:
        row["missing"] = {"kind": missing[0], "answer": missing[1]}
    return SimCase.model_validate(row).model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def cpu_cases(phrasings: list[tuple[str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Four or five cases per catalogue goal: the four rules, and an explicit phrasing found in the sources."""
    for n, (cid, tool, text, params, drop, indirect, pattern) in enumerate(CATALOGUE):
        goal = {"tool": tool, "instruction": text, "params": params}
        source = {**OURS, "catalogue": cid}
        yield case(f"{cid}-explicit", "explicit", text, goal, source)
        if drop is not None:
            yield case(f"{cid}-drop-value", "drop_value", drop[0], goal, source, ("value", drop[1]))
        else:
            opening = VAGUE_OPERATION[n % len(VAGUE_OPERATION)]
            yield case(f"{cid}-drop-operation", "drop_operation", opening, goal, source, ("operation", text))
        yield case(
            f"{cid}-evaluative", "evaluative", EVALUATIVE[n % len(EVALUATIVE)], goal, source, ("operation", text)
        )
        yield case(f"{cid}-indirect", "indirect", indirect, goal, source, ("operation", text))
        found = [
            (t, s)
            for t, s in phrasings
            if re.fullmatch(rf"(please,? )?(can you |could you )?{pattern}( please)?[.!?]?", t)
        ]
        for k, (found_text, found_source) in enumerate(found[:2]):
            yield case(
                f"{cid}-explicit-src{k}", "explicit", found_text, {**goal, "instruction": found_text}, found_source
            )


def source_phrasings(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """Single edit turns of the project's eval sets and its corpus's held-out (val) rows, with provenance."""
    found: list[tuple[str, dict[str, Any]]] = []
    files = ["eval_sets/dialogs.jsonl", "eval_sets/images.jsonl", "data/corpus/seed.jsonl", "data/corpus/gier.jsonl",
             "data/corpus/illc_ier.jsonl"]  # fmt: skip
    for name in files:
        for number, line in enumerate((root / name).read_text(encoding="utf-8").splitlines(), start=1):
            row = json.loads(line)
            if name.startswith("data/corpus") and row.get("split") != "val":
                continue
            upstream = row.get("source") or {"repo": "dialogpaint", "path": name, "license": "Apache-2.0"}
            for index, turn in enumerate(row["turns"]):
                if turn["expect"] == "edit":
                    text = " ".join(turn["user"].lower().split())
                    found.append((text, {**upstream, "file": name, "line": number, "row": row["id"], "turn": index}))
    return found


def edival_cases(csv_text: str, commit: str) -> Iterator[dict[str, Any]]:
    """Four cases per EdiVal first-turn instruction: the first PER_TYPE usable rows of each task type."""
    taken: dict[str, int] = dict.fromkeys(EDIVAL_TYPES, 0)
    for number, row in enumerate(csv.DictReader(io.StringIO(csv_text)), start=2):
        if row["turns"] != "1":
            continue
        kind = ast.literal_eval(row["task_type"])[0]
        if kind not in EDIVAL_TYPES or taken[kind] >= PER_TYPE:
            continue
        read = edival_turn(
            kind, ast.literal_eval(row["format_instructions"])[0], ast.literal_eval(row["instructions"])[0]
        )
        if read is None:
            continue
        taken[kind] += 1
        goal, rules = read
        source = {"repo": "TianyuCodings/EdiVal", "path": EDIVAL_CSV, "commit": commit, "line": number,
                  "image_index": row["image_index"], "license": EDIVAL_LICENSE, "text": goal["text"]}  # fmt: skip
        yield from generative_cases(kind, goal, rules, source)


def edival_turn(kind: str, fmt: str, said: str, n: int = 0) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """One EdiVal turn as a goal edit and its vague openings by rule (opening, missing kind, answer); None if unusable.

    ``n`` picks the evaluative phrase (the row's image index for a single edit).
    """
    if kind not in EDIVAL_TYPES:
        return None
    match = re.search(EDIVAL_PATTERNS[kind], fmt)
    text = said.strip('"').split(", remain")[0].rstrip(".")
    if match is None or len(text) > 120:
        return None
    parts = match.groupdict()
    piece, dropped, indirect = EDIVAL_TYPES[kind]
    value = parts.get("value", "")
    thing = parts.get("object") or "background"
    change = {"subject_remove": ["remove", "erase", "delete", "get rid of"], "subject_add": ["add"]}.get(kind, [value])
    instruction = text[0].lower() + text[1:]
    goal = {"tool": GENERATIVE, "instruction": instruction, "object": thing.lower(), "change": change, "text": text}
    answer = value if piece == "value" else f"the {thing}"
    if kind == "subject_add":
        answer = f"a {thing} on the {parts['side']} of the {parts['anchor']}"
    rules = {f"drop_{piece}": (dropped.format(object=thing, value=value), piece, answer),
             "evaluative": (EVALUATIVE[n % len(EVALUATIVE)], "operation", instruction),
             "indirect": (indirect.format(object=thing), "operation", instruction)}  # fmt: skip
    return goal, rules


def generative_cases(
    kind: str, goal: dict[str, Any], rules: dict[str, Any], source: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The explicit, dropped-piece, evaluative and indirect cases of one generative goal."""
    goal = {k: v for k, v in goal.items() if k != "text"}
    instruction = goal["instruction"]
    n = int(source["image_index"])
    cid = f"{kind.replace('_', '-')}-{source['image_index']}"
    piece = EDIVAL_TYPES[kind][0]
    yield case(f"{cid}-explicit", "explicit", instruction, goal, source)
    opening, _, answer = rules[f"drop_{piece}"]
    yield case(f"{cid}-drop-{piece}", f"drop_{piece}", opening, goal, source, (piece, answer))
    yield case(
        f"{cid}-evaluative", "evaluative", EVALUATIVE[n % len(EVALUATIVE)], goal, source, ("operation", instruction)
    )
    yield case(f"{cid}-indirect", "indirect", rules["indirect"][0], goal, source, ("operation", instruction))


def multi_turns(kind: str, fmt: str, said: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """An EdiVal turn of a multi-turn row (no comma or semicolon inside, so one message can state several)."""
    read = edival_turn(kind, fmt, said, n=len(said))
    if read is None or re.search(r"[,;]", read[0]["text"]):
        return None
    return {k: v for k, v in read[0].items() if k != "text"}, read[1]


def main() -> None:
    """Write the case file from EdiVal's git directory and this repository's eval sets and corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edival", type=Path, required=True, help="git directory of TianyuCodings/EdiVal")
    parser.add_argument("--out", type=Path, default=ROOT / "eval_sets" / "simulate" / "goals.jsonl")
    args = parser.parse_args()
    git = ["git", f"--git-dir={args.edival}"]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    csv_text = subprocess.run([*git, "show", f"HEAD:{EDIVAL_CSV}"], check=True, capture_output=True, text=True).stdout
    catalogue = {row[0]: row[1:] for row in CATALOGUE}
    edival = {"repo": "TianyuCodings/EdiVal", "path": EDIVAL_CSV, "license": EDIVAL_LICENSE}
    rows = [
        *cpu_cases(source_phrasings(ROOT)),
        *edival_cases(csv_text, commit),
        *cpu_multi_cases(catalogue, EVALUATIVE, VAGUE_OPERATION, OURS),
        *edival_multi_cases(csv_text, commit, multi_turns, edival),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows), encoding="utf-8"
    )
    print(f"wrote {len(rows)} cases to {args.out}")


if __name__ == "__main__":
    main()
