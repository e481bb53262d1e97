"""The shipped seed libraries and caption list: valid, covering what they claim, with provenance per row."""

from __future__ import annotations

import json
from collections import Counter
from itertools import pairwise
from pathlib import Path

from agent.eval.dataset import EXPECTS, load_eval_file
from agent.train.synth.captions import read_captions
from agent.train.synth.dialogues import DialogueTask, label_problem
from agent.train.synth.edits import normalised, read_seed_edits
from agent.train.synth.similarity import RougePool

DATA = Path(__file__).resolve().parents[1] / "data"
AUTHORED = {"kind": "authored", "author": "dialogpaint", "license": "Apache-2.0"}
COVERS = {
    "edit", "vague:change", "vague:target", "vague:value", "vague:object", "vague:amount", "vague:direction",
    "undo:1", "undo:2", "undo:3", "undo:all", "redo", "confirm-yes", "confirm-no", "confirm-other",
    "ack", "ack:no", "chat",
}  # fmt: skip


def raw_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_seed_dialogues_are_valid_authored_and_cover_every_decision():
    dialogues = load_eval_file(DATA / "seed_dialogues.jsonl")
    rows = raw_rows(DATA / "seed_dialogues.jsonl")
    assert len(dialogues) >= 100 and len({d.id for d in dialogues}) == len(dialogues)
    assert all(row["source"] == AUTHORED for row in rows)
    assert all(label_problem(d.turns) is None for d in dialogues)  # what synth demands of the model, seeds meet
    assert set(Counter(c for row in rows for c in row["covers"])) >= COVERS
    assert {t.expect for d in dialogues for t in d.turns} == set(EXPECTS)
    assert {t.undo_steps for d in dialogues for t in d.turns if t.expect == "undo"} >= {1, 2, 3}
    vague = [row for row in rows if any(c.startswith("vague:") for c in row["covers"])]
    answered = [any((a["expect"], b["expect"]) == ("clarify", "edit") for a, b in pairwise(r["turns"])) for r in vague]
    assert len(vague) >= 40 and all(answered)  # every vague request is followed by its answer


def test_seed_dialogues_are_not_copies_of_the_regression_set():
    """By synth's own duplicate test: no seed dialogue is a near copy (ROUGE-L > 0.7) of an eval_sets/ one."""
    task, root = DialogueTask(), DATA.parent / "eval_sets"
    regression = [d for f in ("dialogs.jsonl", "images.jsonl") for d in load_eval_file(root / f)]
    pool = RougePool(0.7, [task.key(d.model_dump()) for d in regression])
    copies = [row["id"] for row in raw_rows(DATA / "seed_dialogues.jsonl") if pool.is_duplicate(task.key(row))]
    assert copies == []


def test_seed_edits_are_hand_written_triples_that_change_the_caption():
    seeds = read_seed_edits(DATA / "seed_edits.jsonl")
    assert len(seeds) >= 40 and len({s["instruction"] for s in seeds}) == len(seeds)
    assert all(normalised(s["edited_caption"]) != normalised(s["caption"]) for s in seeds)
    assert all(row["source"] == AUTHORED for row in raw_rows(DATA / "seed_edits.jsonl"))


def test_caption_list_carries_its_source_and_license_per_row():
    captions = read_captions(DATA / "captions" / "coco-mini.jsonl")
    assert len(captions) >= 100 and len({c.source["image_id"] for c in captions}) == len(captions)
    for caption in captions:
        assert caption.source["repo"] == "Obmutescence/COCO-MINI" and caption.source["license"].startswith("CC BY 4.0")
        assert caption.source["split"] in ("train2017", "val2017") and len(caption.source["commit"]) == 40
        assert 5 <= len(caption.text.split()) <= 20
