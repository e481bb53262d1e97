"""Run eval files through a configured engine: per-turn rows, image metrics and revision galleries."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from PIL import Image

from agent.eval.dataset import EvalDialogue, EvalFileError, TurnResult, load_eval_file, run_dialogue
from agent.eval.drift import add_drift, drift_summary
from agent.eval.image_metrics import l1_distance
from agent.eval.metrics import Row, metrics
from agent.models.factories import make_chat_model
from agent.samples import landscape
from agent.settings import Settings
from agent.wiring import create_engine
from graphs.revisions import lineage
from graphs.state import head_revision
from graphs.storage.store import ImageStore, get_image
from tools.clip import ClipScorer, caption_after
from tools.errors import DialogPaintError
from tools.instruct_pix2pix import InstructPix2Pix
from tools.redaction import redacted

logger = logging.getLogger(__name__)

DEFAULT_CAPTION = "a picture"  # the source caption when a dialogue gives none
_RUN_FILES = ("sessions.sqlite", "sessions.sqlite-wal", "sessions.sqlite-shm", "images", "locks")  # under data/
_REPORT_FILES = ("results.jsonl", "metrics.json", "report.md", "report.html")


class ModelCallCounter(BaseCallbackHandler):
    """Counts dialogue-model calls, whatever the backend (local policy or an OpenAI-compatible server)."""

    def __init__(self) -> None:
        self.calls = 0

    def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kwargs: Any) -> None:
        """Count one call."""
        self.calls += 1


@dataclass(frozen=True)
class GalleryImage:
    """One image of a dialogue's gallery: the upload (turn 0) or the head after a turn that moved it."""

    turn: int
    caption: str
    key: str


@dataclass
class EvalRun:
    """What one configuration did on the eval files: rows, scores and galleries by dialogue."""

    label: str
    config: dict[str, Any]
    rows: list[Row]
    metrics: dict[str, Any]
    galleries: dict[str, list[GalleryImage]] = field(default_factory=dict)
    store: ImageStore | None = None


def load_eval_files(paths: Sequence[Path]) -> list[tuple[Path, EvalDialogue]]:
    """Every dialogue of every file, validated (images included) before any work starts."""
    pairs = [(path, dialogue) for path in paths for dialogue in load_eval_file(path)]
    seen: dict[tuple[str, str], Path] = {}
    for path, dialogue in pairs:
        other = seen.get((path.name, dialogue.id))
        if other == path:
            raise EvalFileError(f"{path}: dialogue id {dialogue.id!r} appears twice")
        if other is not None:  # results and reports name a dialogue by file name and id
            raise EvalFileError(f"{other} and {path} both hold dialogue {dialogue.id!r}; rename one of the files")
        seen[(path.name, dialogue.id)] = path
    if not pairs:
        raise EvalFileError(f"no dialogues in {', '.join(map(str, paths))}")
    return pairs


def fresh_run_dirs(folders: Sequence[Path]) -> None:
    """Remove what previous eval runs wrote in ``folders`` (and only that), then make each an empty ``data/``.

    A run owns results.jsonl, metrics.json, report.md, report.html, gallery/ (a folder of NN.png per
    dialogue) and data/; if gallery/ or data/ of any folder holds something else, nothing is removed.
    """
    for folder in folders:
        data, pictures = folder / "data", folder / "gallery"
        strangers = _strangers(data, lambda p: p.name in _RUN_FILES) + _strangers(pictures, Path.is_dir)
        for dialogue in _contents(pictures):
            strangers += _strangers(dialogue, _is_gallery_image) if dialogue.is_dir() else []
        if strangers:
            names = ", ".join(str(p.relative_to(folder)) for p in strangers[:3])
            raise DialogPaintError(f"{folder} holds files an eval run did not write ({names}); not removing them")
    for folder in folders:
        for path in (folder / "data", folder / "gallery"):
            if path.exists():
                shutil.rmtree(path)
        for name in _REPORT_FILES:
            (folder / name).unlink(missing_ok=True)
        (folder / "data").mkdir(parents=True)


def _contents(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _strangers(folder: Path, ours: Callable[[Path], bool]) -> list[Path]:
    """What ``folder`` holds that a run did not write; the folder itself if it is a file."""
    if folder.exists() and not folder.is_dir():
        return [folder]
    return [p for p in _contents(folder) if not ours(p)]


def _is_gallery_image(path: Path) -> bool:
    return path.is_file() and re.fullmatch(r"\d{2,}\.png", path.name) is not None


def run_eval(
    label: str,
    pairs: Sequence[tuple[Path, EvalDialogue]],
    settings: Settings,
    clip: ClipScorer | None = None,
    advance: Callable[[str], None] = lambda _: None,
    *,
    drift: bool = False,
) -> EvalRun:
    """Run every dialogue in its own session of one engine built from ``settings``.

    Args:
        advance: called once per turn with the dialogue id (a progress bar).
        drift: also rebuild every head from the original and score the drift (``agent.eval.drift``).
    """
    counter = ModelCallCounter()
    model = make_chat_model(settings)
    model.callbacks = [counter]
    config = describe(settings)
    rows: list[Row] = []
    galleries: dict[str, list[GalleryImage]] = {}
    sample = landscape()
    with create_engine(settings, model=model) as engine:
        store = engine.deps.store
        for number, (path, dialogue) in enumerate(pairs):
            session = engine.open(dialogue.image or sample, session_id=f"eval-{number:05d}")
            results = run_dialogue(session, dialogue, lambda: counter.calls, lambda r: advance(r.dialogue))
            source = session.revisions[0]["image"]
            rows += dialogue_rows(path.name, dialogue, results, store, source, clip=clip)
            if drift:
                add_drift(rows[-len(results) :], results, engine.deps, clip)
            if dialogue.image is not None:
                galleries[f"{path.name}/{dialogue.id}"] = gallery(rows[-len(results) :], source)
    scores = {**metrics(rows), **({"drift": drift_summary(rows)} if drift else {})}
    return EvalRun(label, config, rows, scores, galleries, store)


def dialogue_rows(
    file: str,
    dialogue: EvalDialogue,
    results: Sequence[TurnResult],
    store: ImageStore,
    source: str,
    *,
    clip: ClipScorer | None,
) -> list[Row]:
    """The rows of one dialogue with image metrics: L1 to the source (cumulative) and to the turn's input.

    CLIP metrics are computed for turns that made a new head revision, between the turn's input image
    and its result, with captions built from the revision path (see ``caption_after``).
    """
    images: dict[str, Image.Image] = {}

    def image(key: str) -> Image.Image:
        if key not in images:
            images[key] = get_image(store, key)
        return images[key]

    rows: list[Row] = []
    head, key, known = results[0].reply.revisions[0]["id"], source, 1
    for result in results:
        reply = result.reply
        revision = head_revision(reply.revisions, reply.head)
        created = [r["id"] for r in reply.revisions].index(reply.head) >= known
        row: Row = {"file": file, **result.record(), "image_source": dialogue.image and Path(dialogue.image).name}
        row["seed"] = revision["params"].get("seed") if created else None
        row["image_changed"] = reply.head != head
        row["l1_source"] = round(l1_distance(image(source), image(reply.image)), 6)
        row["l1_turn"] = round(l1_distance(image(key), image(reply.image)), 6)
        row["clip_image_similarity"] = row["clip_directional_similarity"] = None
        if clip is not None and created:
            base = dialogue.caption or DEFAULT_CAPTION
            before = caption_after(base, _instructions(reply.revisions, head))
            after = caption_after(base, _instructions(reply.revisions, reply.head))
            similar, directional = clip.similarities(image(key), image(reply.image), before, after)
            row["clip_image_similarity"], row["clip_directional_similarity"] = round(similar, 6), round(directional, 6)
        rows.append(row)
        head, key, known = reply.head, reply.image, len(reply.revisions)
    return rows


def _instructions(revisions: Sequence[Any], head: str) -> list[str]:
    return [r["instruction"] or r["tool"] or "" for r in lineage(revisions, head)[1:]]


def gallery(rows: Sequence[Row], source: str) -> list[GalleryImage]:
    """The upload and the head after every turn of one dialogue that moved it."""
    images = [GalleryImage(0, "original", source)]
    for row in rows:
        if row["image_changed"]:
            what = row["instruction"] or row["user"]
            caption = f"turn {row['turn']} {row['action']}: {what} (L1 to source {row['l1_source']:.3f})"
            images.append(GalleryImage(row["turn"], caption, row["image"]))
    return images


def describe(settings: Settings) -> dict[str, Any]:
    """Every setting of a run, recorded with its results, so that any two runs' settings can be diffed.

    Left out: secrets and where this machine keeps its files (``data_dir``, different for every run);
    passwords in URLs are masked. ``editor`` says which tools make the edits and where InstructPix2Pix runs.
    """
    config = settings.model_dump(mode="json", exclude=_UNRECORDED)
    config["llm"] = redacted(settings.llm)
    config["remote_tools"] = {name: redacted(url) for name, url in settings.remote_tools.items()}
    config["editor"] = _editor(settings)
    return config


_UNRECORDED = {"data_dir", "llm_api_key", "api_keys", "checkpoint_url"}
_HEADLINE = ("llm", "editor", "confirm", "seed")  # in a report's configuration whatever their values


def _editor(settings: Settings) -> str:
    where = {name: f"{name} at {redacted(url)}" for name, url in settings.remote_tools.items()}
    if InstructPix2Pix.name not in where and settings.model_path:
        where[InstructPix2Pix.name] = f"{InstructPix2Pix.name} ({settings.model_path})"
    if settings.editor:
        return f"{where.get(settings.editor, settings.editor)} only"
    return ", ".join(["cpu tools", *where.values()])


def notable_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What a report shows of a recorded configuration: the headline settings and those not at their default."""
    defaults = describe(Settings.model_construct())
    remote = config.get("llm") != defaults["llm"]
    shown = (*_HEADLINE, "llm_model", "llm_temperature") if remote else _HEADLINE
    return {k: v for k, v in config.items() if k in shown or k not in defaults or defaults[k] != v}


def write_results(run: EvalRun, out: Path) -> None:
    """results.jsonl (one row per turn) and metrics.json (the scores and the configuration)."""
    out.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(row, ensure_ascii=False, sort_keys=True) for row in run.rows]
    (out / "results.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    document = {"label": run.label, "config": run.config, **run.metrics}
    (out / "metrics.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def slug(text: str) -> str:
    """A file-name-safe form of a dialogue key."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "dialogue"
