"""Override margins and C chosen by leave-one-source-out on the training sources only, and the MLP act model."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from agent.cli.app import app
from agent.policy.act_model import load
from agent.train.policy.examples import all_examples
from agent.train.policy.select import NEVER, best_margins, choose
from agent.train.policy.train import by_source, fit

DIALOGUES = [
    {"id": f"{source}-{k}", "source": {"repo": source}, "turns": [{"user": text, "expect": act}]}
    for k, (source, text, act) in enumerate(
        [
            ("a", "crop the image", "edit"),  # the rules: a question (GIER labels it an edit)
            ("a", "make it pop", "clarify"),
            ("a", "hello there", "chat"),
            ("b", "brighten the whole image", "edit"),
            ("b", "Please help with enhancing or simply making this picture better.", "clarify"),
            ("b", "who are you?", "chat"),
            ("c", "rotate the image", "edit"),  # the rules: a question
            ("c", "make this better please", "clarify"),
            ("c", "hi", "chat"),
        ]
    )
]


def test_each_vote_gets_the_margin_that_scores_best_on_the_held_out_sources():
    examples = all_examples(DIALOGUES)
    acts = ("edit", "clarify", "chat")
    free = [e for e in examples if not e.kept]
    assert free, "some decisions must be left to the model"
    # the model is confidently wrong everywhere: every vote keeps the rules (the largest margin)
    wrong = [(e, np.array([5.0 if a != e.act else -5.0 for a in acts]), acts) for e in free]
    margins, _ = best_margins(wrong)
    assert margins and set(margins.values()) == {NEVER}
    # the model is right by a log-odds of 2: overriding is chosen wherever the rules erred, at a margin below 2
    right = [(e, np.array([2.0 if a == e.act else 0.0 for a in acts]), acts) for e in free]
    margins, objective = best_margins(right)
    erred = {e.vote for e in free if e.vote != e.act}
    assert erred and all(margins[v] < 2.0 for v in erred) and objective > best_margins(wrong)[1]


def test_choice_is_made_on_the_given_sources_and_the_cli_records_it(tmp_path):
    sources = by_source(DIALOGUES, seed=0)
    assert sorted(sources) == ["a", "b", "c"]
    choice = choose({k: sources[k] for k in ("a", "b")}, grid_c=(0.3,))
    assert choice.inner_folds == 2 and choice.c == 0.3 and choice.objective == choice.objective
    assert choose({"a": sources["a"]}).inner_folds == 0  # one source: nothing to hold out, defaults
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in DIALOGUES))
    out = tmp_path / "m.npz"
    result = CliRunner().invoke(app, ["train-policy", str(corpus), "--out", str(out), "--kind", "mlp"])
    assert result.exit_code == 0, result.output
    meta = load(out).meta
    assert meta["kind"] == "mlp" and set(meta["margins"]) and meta["selection"]["inner_folds"] == ["a", "b", "c"]
    bad = CliRunner().invoke(app, ["train-policy", str(corpus), "--out", str(out), "--kind", "forest"])
    assert bad.exit_code == 2 and "--kind must be one of linear, mlp" in bad.stderr
    assert CliRunner().invoke(app, ["train-policy", str(corpus), "--out", str(out), "--c", "0"]).exit_code == 2


def test_mlp_round_trips_and_scores_like_sklearn(tmp_path):
    examples = [e for real, derived in by_source(DIALOGUES, seed=0).values() for e in (*real, *derived)]
    model = fit(examples, kind="mlp")
    assert model.output is not None and model.weights.shape[1] == 32
    model.save(tmp_path / "m.npz")
    again = load(tmp_path / "m.npz")
    indices = examples[0].features
    assert np.allclose(again.scores(indices), model.scores(indices), atol=0.05)
    assert again.predict(indices) in again.acts and again.meta["kind"] == "mlp"
