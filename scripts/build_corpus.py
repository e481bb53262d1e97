"""Rebuild data/corpus/ (the policy's learning corpus, with provenance per row) from the upstream repositories.

    python scripts/build_corpus.py --t2onet /work/.mirror/jshi31+T2ONet/repo \
        --imadial /work/.mirror/iammrhelo+ImageEditingWithDialogue/repo \
        [--edival /work/.mirror/TianyuCodings+EdiVal/repo] [--out data/corpus]

Both paths are git directories (bare snapshots work: files are read with ``git show HEAD:path``).
Only the paths in ``READ`` are opened as data. The GIER test splits are read for one purpose: a set
of hashes of their normalised request and summary texts, kept in memory, so that train/val rows
sharing a text with any test pair are dropped; nothing of them is written. Everything reserved for
evaluation (see data/corpus/README.md) is never opened. Rows are dialogues in the eval-set format
(eval_sets/README.md) with extra keys for provenance.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

GIER_LICENSE = "none stated (no LICENSE file in jshi31/T2ONet; GIER, Shi et al. CVPR 2021, research use)"
IMADIAL_LICENSE = "none stated (no LICENSE file in iammrhelo/ImageEditingWithDialogue; Lin et al. 2020, research use)"
GIER_SPLITS = {"train": "data/GIER/splits/train_sess_3.json", "val": "data/GIER/splits/val_sess_3.json"}
GIER_TEST_PREFIX = "data/GIER/splits/test_"  # read only for the overlap hashes
ILLC_SPLITS = {"train": "imadial-nlu/data/ILLC-IER/train.txt", "val": "imadial-nlu/data/ILLC-IER/val.txt"}
SEED_FILE = Path("data/seed_dialogues.jsonl")
EDIVAL_FILE = "oai_instruction_generation_output.csv"
EDIVAL_LICENSE = "README badges: MIT (code), CC-BY-SA-4.0; no LICENSE file (EdiVal, Chen et al. 2025, arXiv 2509.13399)"

# How a GIER request is labelled (written into the corpus README): a request names a concrete
# operation (OPERATION) -> explicit ("edit"); no operation but an evaluative goal or the [RANDOM]
# flair (the requester leaves the choice to the editor) -> vague ("clarify"); neither -> not used.
OPERATION = re.compile(
    r"\b(remov\w*|eras\w*|delet\w*|get rid|edit(ed|ing)? (out|him|her|them|the)|take (out|away)|cut (out|off)|"
    r"photoshop (out|away)|crop\w*|blur\w*|sharpen\w*|brighten\w*|darken\w*|lighten\w*|black and white|b ?& ?w|"
    r"gr[ae]yscale|monochrome|sepia|saturat\w*|contrast|brightness|exposure|hue|tint|vignett\w*|rotat\w*|"
    r"flip\w*|straighten\w*|replac\w*|swap\w*|put (a|an|me|him|her|them|the)|add (a|an|some|the|me|him|her)|"
    r"insert\w*|background (to|with)|(white|black|transparent|plain) background|change (the|his|her|my) \w+ (to|into)|"
    r"(color|colour) of|red ?eye|glare|reflection|colorize|recolor|invert|warmer|cooler|vivid|"
    r"(more|less) (bright|dark|red|blue|green|yellow|saturated|colorful|vibrant)|"
    r"make (it|this|the \w+|me|him|her|them) (brighter|darker|lighter|sharper|white|black|red|blue|green|pink|"
    r"purple|yellow|orange|bigger|smaller)|turn (it|this|the \w+|me|him|her|them) (into|to)|zoom|"
    r"out of (this|the|my|that) (photo|picture|pic|image|shot)|"
    r"(shop|photoshop|edit|take|taken|get) [^.?!]{0,40}\b(out|away)|looks? like|looking like|getting rid|rid of|"
    r"add(ing)? (little|more|a few) |(fix|correct)\w* (the |his |her |my )?colou?rs?|"
    r"make [^.?!]{0,30}\b(white|black|blue|red|green|pink|purple|yellow|orange|brighter|darker)|backdrop|restor\w*|"
    r"lighter|slimmer|thinner|skinnier|taller|resiz\w*|enlarg\w*|\d+ ?[x*] ?\d+|tone down|"
    r"(fix|clean|repair|touch)\w*(/\w+)?( up)? [^.?!]{0,30}\b(stains?|scratch\w*|tears|rips|creases?|spots|"
    r"smudges?|blemish\w*|pimples?|highlights|over-?expos\w*|under-?expos\w*|shadows?|lighting|glare|eyes?|teeth))\b",
    re.IGNORECASE,
)
# Praise or a bare remark, not a request at all ("nice", "Nice edits"): not used.
PRAISE = re.compile(r"^(nice|great|good|cool|awesome|amazing|beautiful)( (edits?|work|job|one|pic|photo))?$")
EVALUATIVE = re.compile(
    r"\b(better|best|improv\w*|enhanc\w*|fix\w*|nice\w*|good|great|cool\w*|awesome|professional\w*|pop\w*|"
    r"perfect\w*|beautif\w*|prett\w*|touch(ed)? ?up|magic|anything|something|whatever|quality|amazing|"
    r"artistic|creative|fun\w*|epic|interesting|stunning|gorgeous|attractive|worthy|glamou?r\w*|spice|jazz|"
    r"make (this|it|me|us) look|look good|work of art|do (your|their) thing|have fun|go wild|edit (this|it|my)|"
    r"clean(ed)? ?up|clearer|"
    r"do what(ever)? you (like|want)|co+l+|less potato|creativ\w*|wild)\b",
    re.IGNORECASE,
)
RANDOM_FLAIR = re.compile(r"^\s*\[?\s*random\s*\]?", re.IGNORECASE)


def normalised(text: str) -> str:
    """Lower case, no flair tag, words only: the form compared for overlap and duplicates."""
    text = re.sub(r"^\s*\[[^\]]*\]", " ", text.lower())
    return " ".join(re.findall(r"[a-z0-9]+", text))


def text_hash(text: str) -> str:
    """The overlap key of a text (a hash of its normalised form)."""
    return hashlib.sha256(normalised(text).encode()).hexdigest()


def request_label(text: str) -> tuple[str | None, str]:
    """(expected act or None, the rule that decided) for one real request.

    An operation named decides before the [RANDOM] flair: "[Random] Please remove this girl in pink"
    asks for one edit whatever its flair says.
    """
    if PRAISE.match(normalised(text)):
        return None, "gier-praise-not-a-request"
    if OPERATION.search(text):
        return "edit", "gier-names-operation"
    if RANDOM_FLAIR.match(text):
        return "clarify", "gier-random-flair"
    if EVALUATIVE.search(text):
        return "clarify", "gier-evaluative-only"
    return None, "gier-undecided"


def git(git_dir: Path, *args: str) -> str:
    """The output of one git command on a git directory (fails loudly)."""
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True, text=True, check=True).stdout


def git_show(git_dir: Path, path: str) -> tuple[str, str]:
    """(file text at HEAD, HEAD commit) of one path in a git directory."""
    return git(git_dir, "show", f"HEAD:{path}"), git(git_dir, "rev-parse", "HEAD").strip()


def test_hashes(git_dir: Path) -> set[str]:
    """Hashes of every normalised request and summary in the GIER test splits (their text is not kept)."""
    names = git(git_dir, "ls-tree", "--name-only", "HEAD", "data/GIER/splits/")
    hashes: set[str] = set()
    for name in names.split():
        if name.startswith(GIER_TEST_PREFIX):
            pairs = json.loads(git_show(git_dir, name)[0])
            for pair in pairs if isinstance(pairs, list) else []:
                if isinstance(pair, dict):  # the *_Ids_* splits hold bare pair ids
                    hashes.update(text_hash(t) for t in gier_texts(pair))
    return hashes


def gier_texts(pair: dict[str, Any]) -> list[str]:
    """The request and every summary of one GIER pair."""
    return [pair["request"], *pair.get("expert_summary", []), *pair.get("amateur_summary", [])]


def gier_dialogues(git_dir: Path, held: set[str], counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    """GIER requests (vague or explicit by the rule) and their summaries as the explicit edit made."""
    seen: set[str] = set()
    for split, path in GIER_SPLITS.items():
        text, commit = git_show(git_dir, path)
        source = {"repo": "jshi31/T2ONet", "path": path, "commit": commit, "license": GIER_LICENSE}
        by_request: dict[str, list[str]] = {}
        for pair in json.loads(text):
            if any(text_hash(t) in held for t in gier_texts(pair)):
                counts[f"gier_{split}_pairs_dropped_test_overlap"] = (
                    counts.get(f"gier_{split}_pairs_dropped_test_overlap", 0) + 1
                )
                continue
            summaries = by_request.setdefault(pair["request"].strip(), [])
            summaries += [s.strip() for s in [*pair["expert_summary"], *pair["amateur_summary"]] if s.strip()]
        for number, (request, summaries) in enumerate(sorted(by_request.items())):
            key = normalised(request)
            if not key or key in seen:
                continue  # the same request in train and val: kept once, in the first split
            seen.add(key)
            label, rule = request_label(request)
            explicit = [s for s in dict.fromkeys(summaries) if normalised(s) != key and OPERATION.search(s)]
            base = {"source": source, "split": split}
            if label == "clarify" and explicit:
                turns = [{"user": request, "expect": "clarify"}, {"user": explicit[0], "expect": "edit"}]
                yield {
                    "id": f"gier-{split}-{number}",
                    **base,
                    "label_rule": rule + "; answer: first explicit summary",
                    "turns": turns,
                }
            elif label == "edit":
                yield {
                    "id": f"gier-{split}-{number}",
                    **base,
                    "label_rule": rule,
                    "turns": [{"user": request, "expect": "edit"}],
                }
            else:
                counts["gier_requests_unlabelled"] = counts.get("gier_requests_unlabelled", 0) + 1
            for k, summary in enumerate(explicit[1:3] if label == "clarify" else explicit[:2]):
                if normalised(summary) not in seen:
                    seen.add(normalised(summary))
                    turns = [{"user": summary, "expect": "edit"}]
                    yield {
                        "id": f"gier-{split}-{number}-s{k}",
                        **base,
                        "label_rule": "gier-summary-names-operation",
                        "turns": turns,
                    }


def illc_dialogues(git_dir: Path) -> Iterator[dict[str, Any]]:
    """ILLC-IER requests (tagged 'adjust': an attribute, a region and a value) as explicit edits."""
    for split, path in ILLC_SPLITS.items():
        text, commit = git_show(git_dir, path)
        source = {
            "repo": "iammrhelo/ImageEditingWithDialogue",
            "path": path,
            "commit": commit,
            "license": IMADIAL_LICENSE,
        }
        seen: set[str] = set()
        for number, line in enumerate(text.splitlines()[1:]):
            tagged, _, act = line.rpartition("|")
            words = " ".join(token.rsplit("###", 1)[0] for token in tagged.split())
            sentence = re.sub(r" ([.,?!])", r"\1", words)
            if act != "adjust" or not sentence or normalised(sentence) in seen:
                continue
            seen.add(normalised(sentence))
            rule = "illc-dialogue-act-adjust"
            yield {"id": f"illc-{split}-{number}", "source": source, "split": split, "label_rule": rule,
                   "turns": [{"user": sentence, "expect": "edit"}]}  # fmt: skip


def edival_dialogues(git_dir: Path) -> Iterator[dict[str, Any]]:
    """EdiVal's multi-turn instructions (one to three explicit edits on one image) as dialogues of edit turns.

    The CSV holds each image's instructions cumulatively (turns 1, 1-2, 1-3); the longest row of an
    image is its dialogue. Split train/val by a hash of the image index, as the seed library.
    """
    text, commit = git_show(git_dir, EDIVAL_FILE)
    source = {"repo": "TianyuCodings/EdiVal", "path": EDIVAL_FILE, "commit": commit, "license": EDIVAL_LICENSE}
    longest: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        image = row["image_index"]
        if image not in longest or int(row["turns"]) > int(longest[image]["turns"]):
            longest[image] = row
    for image, row in sorted(longest.items(), key=lambda item: int(item[0])):
        instructions = [str(i).strip().strip('"').strip() for i in ast.literal_eval(row["instructions"])]
        turns = [{"user": i, "expect": "edit"} for i in instructions if i]
        if not turns:
            continue
        split = "val" if int(hashlib.sha256(f"edival-{image}".encode()).hexdigest(), 16) % 10 == 0 else "train"
        yield {"id": f"edival-{image}", "source": source, "split": split, "turns": turns,
               "label_rule": "edival-instruction", "task_type": ast.literal_eval(row["task_type"])}  # fmt: skip


RULE_ACTS = ("forget", "rerender")  # decided by rules before the act model (agent/policy/recipes.py), never learned


def seed_dialogues(path: Path) -> Iterator[dict[str, Any]]:
    """The authored seed dialogues (data/seed_dialogues.jsonl, eval format), when that file exists.

    A dialogue is cut before its first selective-forget or re-render turn: the act model does not learn
    those acts, and the turns after one would be read in a context it cannot describe.
    """
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            cut = next((i for i, turn in enumerate(row["turns"]) if turn["expect"] in RULE_ACTS), None)
            if cut is not None:
                row["turns"] = row["turns"][:cut]
            split = "val" if int(hashlib.sha256(row["id"].encode()).hexdigest(), 16) % 10 == 0 else "train"
            source = {"repo": "dialogpaint", "path": str(path), "commit": "", "license": "Apache-2.0"}
            yield {**row, "id": f"seed-{row['id']}", "source": source, "split": split,
                   "label_rule": row.get("label_rule", "authored")}  # fmt: skip


def write(out: Path, name: str, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSONL; the count written."""
    lines = [json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows]
    (out / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build every source, print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t2onet", type=Path, required=True, help="git dir of jshi31/T2ONet")
    parser.add_argument("--imadial", type=Path, required=True, help="git dir of iammrhelo/ImageEditingWithDialogue")
    parser.add_argument("--edival", type=Path, help="git dir of TianyuCodings/EdiVal (optional source)")
    parser.add_argument("--seed-file", type=Path, default=SEED_FILE)
    parser.add_argument("--out", type=Path, default=Path("data/corpus"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    held = test_hashes(args.t2onet)
    counts["gier_dialogues"] = write(args.out, "gier.jsonl", gier_dialogues(args.t2onet, held, counts))
    del held
    counts["illc_ier_dialogues"] = write(args.out, "illc_ier.jsonl", illc_dialogues(args.imadial))
    counts["seed_dialogues"] = write(args.out, "seed.jsonl", seed_dialogues(args.seed_file))
    if args.edival:
        counts["edival_dialogues"] = write(args.out, "edival.jsonl", edival_dialogues(args.edival))
    print(json.dumps(counts, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
