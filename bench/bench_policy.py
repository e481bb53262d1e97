"""Leave-one-source-out scores of the rule-only and the learned embedded policy, the eval sets apart, and latency.

    python bench/bench_policy.py [data/corpus] [--kind linear|mlp] [--no-semantic] [--seed 0] [--c 1 --margin 0]

For every source of the corpus (GIER, ILLC-IER, EdiVal, the seed library when present): train the act model
on every other source plus the augmenter's dialogues derived from them (in-fold augmentation: no
dialogue derived from the held-out source is trained on or scored), then score the held-out
source's own turns (teacher-forced contexts). C and the override margins are chosen inside the fold
by leave-one-source-out over the training sources only (agent/train/policy/select.py; nested), unless
--c / --margin fix them (the previous protocol). The rule-only policy is scored on the same turns.
Then the project's eval sets (eval_sets/*.jsonl, never trained on) run through the real graph
with each policy (the learned one trained on the whole corpus), and the policy's decision time
is measured on the corpus messages. The act model reads the messages' sentence vectors from the
shipped token table (agent/policy/token_vectors.npz) unless --no-semantic: hashed n-grams only.
Needs the `learn` extra.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.eval.dataset import load_eval_file, run_all
from agent.eval.metrics import metrics, per_action_scores
from agent.models.prompts import SYSTEM_PROMPT
from agent.policy.act_model import ACTS, ActModel, load
from agent.policy.embedding import TokenTable, shipped_table
from agent.policy.local import LocalPolicy, policy_answer
from agent.samples import landscape
from agent.session.engine import Engine
from agent.train.policy.examples import Example, _tools, all_examples, source_of
from agent.train.policy.select import GRID_C, fit_chosen
from agent.train.policy.train import KINDS, by_source, fit, read_dialogues
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from graphs.storage.store import FileImageStore
from tools.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
TARGETS = "balanced accuracy >= 0.92, accuracy >= 0.94, clarify P >= 0.80 / R >= 0.80, undo R >= 0.95, <= 5 ms"


def scores(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy, balanced accuracy (mean recall over the acts present) and per-act precision/recall."""
    per = {a: s for a, s in per_action_scores(rows).items() if s["support"] or any(r["predicted"] == a for r in rows)}
    recalls = [s["recall"] for s in per.values() if s["support"]]
    accuracy = sum(r["correct"] for r in rows) / len(rows)
    return {"turns": len(rows), "accuracy": accuracy, "balanced_accuracy": statistics.fmean(recalls), "per_action": per}


def rows_of(examples: Sequence[Example], predict: Any) -> list[dict[str, Any]]:
    """Scored rows (expect, predicted, correct) of examples under a predictor."""
    out = []
    for e in examples:
        predicted = predict(e)
        out.append({"expect": e.act, "predicted": predicted, "correct": predicted == e.act, "source": e.source})
    return out


Fixed = tuple[float, float] | None


def trained(
    dialogues: Sequence[dict[str, Any]], seed: int, fixed: Fixed, kind: str, table: TokenTable | None
) -> ActModel:
    """The act model of these dialogues: C and margins chosen over their sources, or fixed ones."""
    sources = by_source(dialogues, seed)
    if fixed is None:
        return fit_chosen(sources, seed=seed, grid_c=GRID_C if kind == "linear" else (1.0,), kind=kind, table=table)
    examples = [e for real, derived in sources.values() for e in (*real, *derived)]
    return fit(examples, seed=seed, c=fixed[0], margin=fixed[1], kind=kind, table=table)


def held_out(
    dialogues: list[dict[str, Any]], seed: int, fixed: Fixed, kind: str, tokens: TokenTable | None, *, val: bool = True
) -> dict[str, Any]:
    """Rows of both policies: leave-one-source-out (pooled) and the upstream val split (train on train)."""
    keys = [(f"source {s}", [source_of(d) == s for d in dialogues]) for s in sorted(map(source_of, dialogues))]
    keys = [*dict(keys).items(), *([("val", [d.get("split") == "val" for d in dialogues])] if val else [])]
    found: dict[str, Any] = {"loso": {"rules": [], "learned": []}, "val": {"rules": [], "learned": []}, "chosen": {}}
    for name, held in keys:
        model = trained([d for d, h in zip(dialogues, held, strict=True) if not h], seed, fixed, kind, tokens)
        test = all_examples([d for d, h in zip(dialogues, held, strict=True) if h])
        side = found["val" if name == "val" else "loso"]
        side["rules"] += rows_of(test, lambda e: e.vote)
        side["learned"] += rows_of(test, lambda e, m=model: e.vote if e.kept else m.decide(e.features, e.vote))
        found.setdefault("dump", []).extend(dump_rows(name, test, model))
        found["chosen"][name] = {k: model.meta.get(k) for k in ("C", "margin", "margins")}
        print(f"  held out {name}: {len(test)} turns, trained on {model.meta['examples']} examples,"
              f" chosen {found['chosen'][name]}", flush=True)  # fmt: skip
    found["sources"] = sorted({source_of(d) for d in dialogues})
    return found


def dump_rows(fold: str, examples: Sequence[Example], model: ActModel) -> list[dict[str, Any]]:
    """Per turn of a held-out fold: text, context, gold, rules' vote, the learned act and every act's score."""
    out = []
    for e in examples:
        scores = model.scores(e.features)
        predicted = e.vote if e.kept else model.decide(e.features, e.vote)
        out.append({"fold": fold, "source": e.source, "text": e.features.text, "context": e.context.flags(),
                    "gold": e.act, "rules": e.vote, "kept": e.kept, "predicted": predicted,
                    "scores": {a: round(float(s), 3) for a, s in zip(model.acts, scores, strict=True)}})  # fmt: skip
    return out


def fresh_session(engine: Engine, _dialogue: Any) -> Any:
    """A new session on a small landscape image (one per eval dialogue)."""
    return engine.open(landscape(48, 32))


def eval_sets(model: ActModel) -> dict[str, Any]:
    """Both policies on eval_sets/*.jsonl through the real graph and CPU tools (no generative weights)."""
    dialogues = [d for path in sorted((ROOT / "eval_sets").glob("*.jsonl")) for d in load_eval_file(path)]
    found = {}
    for name, policy in (("rules", LocalPolicy(learned=False)), ("learned", LocalPolicy(act_model=model))):
        with tempfile.TemporaryDirectory() as folder:
            # As `dialogpaint eval`: the unready editor is offered, so generative turns are scored as decisions.
            tools, store = load_registry(plugins=False), FileImageStore(folder)
            deps = GraphDeps(policy, tools, store, SYSTEM_PROMPT, seed=0, offer_unready=True)
            engine = Engine(build_graph(InMemorySaver()), deps)
            results = run_all(dialogues, functools.partial(fresh_session, engine))
            found[name] = metrics([r.record() for r in results])
    return found


def latency(dialogues: Sequence[dict[str, Any]], model: ActModel, n: int = 400) -> dict[str, float]:
    """Median and p95 milliseconds of one decision (first turns of the corpus), rules and learned."""
    texts = [d["turns"][0]["user"] for d in dialogues][:: max(1, len(dialogues) // n)][:n]
    tools = _tools(False)
    out = {}
    for name, m in (("rules", None), ("learned", model)):
        times = []
        for text in texts:
            started = time.perf_counter()
            policy_answer([HumanMessage(text)], tools, None, m)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        out[f"{name}_median_ms"] = times[len(times) // 2]
        out[f"{name}_p95_ms"] = times[int(len(times) * 0.95)]
    return out


def table(title: str, rules: dict[str, Any], learned: dict[str, Any]) -> None:
    """Print one side-by-side table."""
    print(f"\n{title}\n{'':14} {'rules':>17} {'learned':>17}")
    print(f"{'accuracy':14} {rules['accuracy']:17.3f} {learned['accuracy']:17.3f}")
    if "balanced_accuracy" in rules:
        print(f"{'balanced acc.':14} {rules['balanced_accuracy']:17.3f} {learned['balanced_accuracy']:17.3f}")
    for act in ACTS:
        r, lr = rules["per_action"].get(act), learned["per_action"].get(act)
        if r and r["support"]:
            print(f"{act:14} P {r['precision']:.2f} R {r['recall']:.2f}   P {lr['precision']:.2f} R {lr['recall']:.2f}"
                  f"   n={r['support']}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="*", type=Path, default=[ROOT / "data" / "corpus"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--c", type=float, help="fix C (with --margin) instead of choosing it in each fold")
    parser.add_argument("--margin", type=float, help="fix one override margin for every vote")
    parser.add_argument("--kind", choices=KINDS, default="linear", help="act model: linear or mlp")
    parser.add_argument("--no-semantic", action="store_true", help="hashed n-grams only: no sentence vectors")
    parser.add_argument("--no-val", action="store_true", help="skip the upstream val-split table")
    parser.add_argument("--model", type=Path, help="a model trained on the whole corpus (train-policy --out) for the"
                        " eval sets and latency, instead of training it again")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write every number here")
    parser.add_argument("--dump", type=Path, help="write every held-out turn (text, context, gold, rules' vote,"
                        " learned act, scores) here as JSONL, for error analysis")  # fmt: skip
    parser.add_argument("--loso-only", action="store_true", help="stop after the held-out tables (no eval sets)")
    args = parser.parse_args(argv)
    dialogues = read_dialogues(args.corpus)
    print(f"{len(dialogues)} dialogues; targets: {TARGETS}")
    fixed = None if args.c is None and args.margin is None else (args.c or 1.0, args.margin or 0.0)
    tokens = None if args.no_semantic else shipped_table()
    print(f"semantic features: {tokens.digest if tokens else 'none'}", flush=True)
    folds = held_out(dialogues, args.seed, fixed, args.kind, tokens, val=not args.no_val)
    rules, learned = scores(folds["loso"]["rules"]), scores(folds["loso"]["learned"])
    table(f"leave-one-source-out over {', '.join(folds['sources'])} ({rules['turns']} turns)", rules, learned)
    if args.dump:
        args.dump.write_text("".join(json.dumps(r) + "\n" for r in folds["dump"]))
        print(f"  wrote {len(folds['dump'])} held-out turns to {args.dump}")
    val_rules, val_learned = (scores(folds["val"][k]) if folds["val"][k] else None for k in ("rules", "learned"))
    if val_rules and val_learned:
        table(f"upstream val splits, trained on the train splits ({val_rules['turns']} turns)", val_rules, val_learned)
    if args.loso_only:
        return 0
    full = load(args.model, tokens) if args.model else trained(dialogues, args.seed, fixed, args.kind, tokens)
    sets = eval_sets(full)
    table("eval_sets/*.jsonl (never trained on), through the graph", sets["rules"], sets["learned"])
    print(
        f"  undo steps exact: rules {sets['rules']['undo_steps_exact']}, learned {sets['learned']['undo_steps_exact']}"
    )
    timing = latency(dialogues, full)
    print("\ndecision latency (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in timing.items()))
    if args.json:
        found = {"loso": {"rules": rules, "learned": learned}, "val": {"rules": val_rules, "learned": val_learned},
                 "eval_sets": sets, "latency": timing, "chosen": {**folds["chosen"], "full": full.meta}}  # fmt: skip
        args.json.write_text(json.dumps({**found, "args": vars(args)}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
