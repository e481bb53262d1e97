"""Build data/captions/coco-mini.jsonl: one human caption per image from COCO 2017 caption annotations.

Usage (the upstream files are a 159-image sample of COCO 2017 in Obmutescence/COCO-MINI):

    git clone https://github.com/Obmutescence/COCO-MINI /tmp/coco-mini
    git -C /tmp/coco-mini checkout 644f29e7c1d2eefd9c4412d39bc5b0ee6fd0afd4
    python scripts/make_captions.py /tmp/coco-mini > data/captions/coco-mini.jsonl

Per image, the caption with the lowest annotation id among those of 5 to 20 words is kept (the first
the annotators wrote that is neither a fragment nor a paragraph), with whitespace collapsed; rows are
sorted by split and image id, so the output is the same on every run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = "Obmutescence/COCO-MINI"
COMMIT = "644f29e7c1d2eefd9c4412d39bc5b0ee6fd0afd4"
SPLITS = ("train2017", "val2017")
MIN_WORDS, MAX_WORDS = 5, 20
LICENSE = "CC BY 4.0 (COCO annotations, https://cocodataset.org/#termsofuse)"


def rows(checkout: Path) -> list[dict[str, object]]:
    """The selected caption of every image, with its provenance."""
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    if head.stdout.strip() != COMMIT:
        sys.exit(f"make_captions: {checkout} is not at {COMMIT} (git checkout it first)")
    selected = []
    for split in SPLITS:
        path = f"annotations/captions_{split}.json"
        annotations = json.loads((checkout / path).read_text(encoding="utf-8"))["annotations"]
        first: dict[int, dict[str, object]] = {}
        for note in sorted(annotations, key=lambda a: a["id"]):
            text = " ".join(note["caption"].split())
            if note["image_id"] in first or not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                continue
            first[note["image_id"]] = {
                "caption": text, "dataset": "COCO 2017 captions", "split": split, "image_id": note["image_id"],
                "annotation_id": note["id"], "repo": REPO, "path": path, "commit": COMMIT, "license": LICENSE,
            }  # fmt: skip
        selected += [first[image] for image in sorted(first)]
    return selected


if __name__ == "__main__":
    for row in rows(Path(sys.argv[1])):
        print(json.dumps(row, ensure_ascii=False))
