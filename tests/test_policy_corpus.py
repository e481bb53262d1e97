"""The corpus builder on small real git repositories shaped like the upstream ones, and the offline augmenter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.train.policy.augment import augment, vague_forms

ROOT = Path(__file__).resolve().parents[1]


def pair(request: str, *summaries: str) -> dict[str, object]:
    return {"request": request, "expert_summary": list(summaries), "amateur_summary": [request]}


def git_repo(path: Path, files: dict[str, str]) -> Path:
    """A real git repository holding ``files`` at HEAD; its git dir."""
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    env = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(path), *env, "commit", "-qm", "data"], check=True)
    return path / ".git"


def build(tmp_path: Path, seed_rows: list[dict[str, object]] | None = None) -> tuple[dict[str, int], Path]:
    splits = "data/GIER/splits/"
    t2onet = git_repo(
        tmp_path / "t2onet",
        {
            splits + "train_sess_3.json": json.dumps([
                pair("[RANDOM] do your best with this one", "increase the contrast a lot"),
                pair("Can someone please remove the man in the back?", "remove the man in the back"),
                pair("Make it look awesome", "brighten the image and add a vignette"),
                pair("blur the background please", "Blur the background"),  # its summary is in a test pair
                pair("hello there"),  # neither vague nor explicit by the rule: not used
            ]),
            splits + "val_sess_3.json": json.dumps([pair("Can someone please remove the man in the back?", "x")]),
            splits + "test_sess_3.json": json.dumps([pair("A different request", "blur the background.")]),
            splits + "test_Ids_L1Thr_0.06_sess_3.json": json.dumps([1, 2, 3]),
        },
    )  # fmt: skip
    rows = "tags|dialogue_act\nedit###B-action the###O hue###B-attribute of###O the###B-refer cat###I-refer to###O 20###B-value|adjust\n"  # noqa: E501
    imadial = git_repo(
        tmp_path / "imadial",
        {"imadial-nlu/data/ILLC-IER/train.txt": rows, "imadial-nlu/data/ILLC-IER/val.txt": "tags|dialogue_act\n"},
    )
    seed_file = tmp_path / "seed_dialogues.jsonl"
    if seed_rows is not None:
        seed_file.write_text("".join(json.dumps(r) + "\n" for r in seed_rows))
    out = tmp_path / "corpus"
    args = ["--t2onet", str(t2onet), "--imadial", str(imadial), "--seed-file", str(seed_file), "--out", str(out)]
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_corpus.py"), *args], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout), out


def read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_corpus_rows_carry_labels_and_provenance_and_skip_test_overlap(tmp_path):
    counts, out = build(tmp_path)
    gier = read(out / "gier.jsonl")
    turns = {t["user"]: (t["expect"], row) for row in gier for t in row["turns"]}  # type: ignore[union-attr]
    assert turns["[RANDOM] do your best with this one"][0] == "clarify"
    assert turns["increase the contrast a lot"][0] == "edit"  # the summary answers the vague request
    assert turns["Can someone please remove the man in the back?"][0] == "edit"
    assert turns["Make it look awesome"][0] == "clarify"
    assert "blur the background please" not in turns and "Blur the background" not in turns
    assert "hello there" not in turns
    assert counts["gier_train_pairs_dropped_test_overlap"] == 1 and counts["gier_requests_unlabelled"] == 1
    # the same request in train and val is kept once; no text of the test split is written
    assert sum(t == "Can someone please remove the man in the back?" for t in turns) == 1
    assert "A different request" not in (out / "gier.jsonl").read_text()
    _, row = turns["Make it look awesome"]
    assert row["source"]["repo"] == "jshi31/T2ONet" and len(row["source"]["commit"]) == 40  # type: ignore[index]
    assert row["split"] == "train" and row["label_rule"].startswith("gier-evaluative-only")  # type: ignore[union-attr]
    illc = read(out / "illc_ier.jsonl")
    assert illc[0]["turns"] == [{"user": "edit the hue of the cat to 20", "expect": "edit"}]
    assert (out / "seed.jsonl").read_text() == ""  # no seed library here


def test_seed_dialogues_join_the_corpus_when_present(tmp_path):
    seed = {"id": "undo-two", "turns": [{"user": "go back two steps", "expect": "undo", "undo_steps": 2}]}
    counts, out = build(tmp_path, [seed])
    assert counts["seed_dialogues"] == 1
    (row,) = read(out / "seed.jsonl")
    assert row["id"] == "seed-undo-two" and row["turns"] == seed["turns"] and row["label_rule"] == "authored"


def test_augmenter_is_deterministic_and_derives_vague_forms_with_provenance():
    rows = [
        {"id": f"r{i}", "source": {"repo": "x"}, "turns": [{"user": text, "expect": "edit"}]}
        for i, text in enumerate(["edit the saturation of the left dog to -30", "remove the car", "make it brighter"])
    ]
    first, second = augment(rows, seed=3), augment(rows, seed=3)
    assert first == second and augment(rows, seed=4) != first
    assert [d["derived_from"] for d in first] == ["r0", "r0", "r1", "r1", "r2", "r2"]
    for dialogue, straight in zip(first[::2], first[1::2], strict=True):
        assert dialogue["turns"][0]["expect"] == "clarify" and dialogue["turns"][1]["expect"] == "edit"
        assert dialogue["transform"].split("+")[0] in (
            "drop-value",
            "drop-object",
            "drop-change",
            "drop-fill",
            "drop-destination",
            "evaluative",
        )
        assert straight["transform"] == "asker" and straight["turns"][-1]["expect"] == "edit"
    assert ("edit the saturation of the left dog", "drop-value") in vague_forms(rows[0]["turns"][0]["user"])
    assert ("remove something", "drop-object") in vague_forms("remove the car")
    many = [{**row, "id": f"{row['id']}-{k}"} for row in rows for k in range(20)]
    kinds = {t["expect"] for d in augment(many, seed=0) for t in d["turns"][2:]}
    assert kinds == {"confirm_yes", "confirm_no", "undo", "redo", "chat"}


def test_label_rule_names_operations_before_the_flair_and_drops_praise():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_corpus", ROOT / "scripts" / "build_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    label = module.request_label
    assert label("[Random] Please remove this girl in pink from this pic.")[0] == "edit"
    assert label("[RANDOM] do your best with this one") == ("clarify", "gier-random-flair")
    assert label("Would it be possible to fix the stains around the edge of this picture?")[0] == "edit"
    assert label("Could you please make this icon 32x32?")[0] == "edit"
    assert label("Can anybody make this image lighter without losing the color scheme?")[0] == "edit"
    assert label("Nice edits") == (None, "gier-praise-not-a-request")
    assert label("Can someone clean up this old photo of my grandparents?")[0] == "clarify"
    # issue 24's error analysis: operations named as 'away', 'looks like', 'getting rid of' and colour repairs
    assert label("please photoshop the fingers away!")[0] == "edit"
    assert label("Could someone edit this so it looks like it's from the 70s?")[0] == "edit"
    assert label("Would somebody please fix the colour in this image?")[0] == "edit"
    assert label("Mainly getting rid of the foot in the corner?")[0] == "edit"
