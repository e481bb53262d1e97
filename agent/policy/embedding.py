"""Sentence vectors from a static token-embedding table (numpy only): the act model's sense of meaning.

The table (``token_vectors.npz``, a few MB) holds one vector per WordPiece token of a pretrained
sentence encoder (all-MiniLM-L6-v2), distilled at training time the way model2vec does it: each
token run through the encoder alone, the outputs PCA-reduced and weighted by how rare the token is
(``agent.train.policy.distil``, the ``learn`` extra plus the ``embed`` extra's encoder). At inference
a message is split into the same WordPiece tokens (lower case, accents stripped, punctuation apart,
greedy longest match) and its vector is the mean of its tokens' rows, scaled to unit length: a
dictionary lookup and a small sum, no torch and no tokenizer library.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

SHIPPED_TABLE = Path(__file__).with_name("token_vectors.npz")
MAX_TOKENS = 128  # a message's first tokens only (the encoder's own inputs are short requests)
_MAX_WORD = 100  # longer "words" (URLs, runs of symbols) are one unknown token, as in BERT


def basic_words(text: str) -> list[str]:
    """BERT's basic split: lower case, accents stripped, every punctuation character a word of its own."""
    text = unicodedata.normalize("NFD", text.lower())
    words: list[str] = []
    for chunk in text.split():
        current = ""
        for char in chunk:
            if unicodedata.category(char) == "Mn":
                continue
            if _is_punctuation(char):
                words += [current, char] if current else [char]
                current = ""
            else:
                current += char
        if current:
            words.append(current)
    return words


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def wordpiece(word: str, vocab: dict[str, int]) -> list[int]:
    """Greedy longest-match WordPiece ids of one word ("##" marks a continuation); [] if a piece is unknown."""
    if len(word) > _MAX_WORD:
        return []
    ids, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                ids.append(vocab[piece])
                break
            end -= 1
        if end == start:
            return []  # BERT maps the whole word to [UNK]; the table has no row for it
        start = end
    return ids


@dataclass(frozen=True, eq=False)
class TokenTable:
    """One vector per token (``vectors[i]`` for ``tokens[i]``) and where the vectors came from."""

    tokens: tuple[str, ...]
    vectors: Any  # numpy float32 array, shape (len(tokens), dim)
    meta: dict[str, Any]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {t: i for i, t in enumerate(self.tokens)})

    @property
    def dim(self) -> int:
        """The length of a sentence vector."""
        return int(self.vectors.shape[1])

    @property
    def digest(self) -> str:
        """A short hash of the tokens and vectors: a model trained on this table names it."""
        import numpy as np

        data = hashlib.sha256("\n".join(self.tokens).encode())
        data.update(np.ascontiguousarray(self.vectors, dtype=np.float16).tobytes())
        return data.hexdigest()[:16]

    def token_ids(self, text: str) -> list[int]:
        """The table rows of a message's WordPiece tokens (unknown words skipped), at most MAX_TOKENS."""
        ids: list[int] = []
        for word in basic_words(text):
            ids += wordpiece(word, self.index)
            if len(ids) >= MAX_TOKENS:
                return ids[:MAX_TOKENS]
        return ids

    def embed(self, text: str) -> Any:
        """The message's unit-length sentence vector (zeros when no token is known)."""
        import numpy as np

        ids = self.token_ids(text)
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        mean = self.vectors[ids].mean(axis=0, dtype=np.float32)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else mean

    def save(self, path: Path) -> None:
        """Write the table as a compressed .npz (float16 vectors)."""
        import json

        import numpy as np

        np.savez_compressed(
            path,
            tokens=np.array(self.tokens),
            vectors=np.asarray(self.vectors, dtype=np.float16),
            meta=np.array(json.dumps(self.meta, sort_keys=True)),
        )


def load_table(path: Path) -> TokenTable:
    """Read a table written by ``TokenTable.save``; a clear error if the file is not one."""
    import json

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            tokens = tuple(str(t) for t in data["tokens"])
            vectors, meta = data["vectors"].astype(np.float32), json.loads(str(data["meta"]))
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(
            f"{path} is not a token-vector table (agent/train/policy/distil.py writes one): {exc}"
        ) from None
    if vectors.ndim != 2 or vectors.shape[0] != len(tokens):
        raise ValueError(f"{path}: {len(tokens)} tokens but vectors of shape {vectors.shape}")
    return TokenTable(tokens, vectors, meta)


@lru_cache(maxsize=1)
def shipped_table() -> TokenTable | None:
    """The table shipped with the package (None if absent: models that need it refuse to load)."""
    return load_table(SHIPPED_TABLE) if SHIPPED_TABLE.is_file() else None
