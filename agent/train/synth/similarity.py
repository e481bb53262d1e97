"""The ROUGE-L near-duplicate filter of self-instruct, over a pool that grows as rows are kept."""

from __future__ import annotations

from typing import Any


class RougePool:
    """Texts kept so far; a new one is a duplicate when its ROUGE-L F1 with any of them exceeds the threshold.

    Self-instruct (Wang et al. 2023, section 2.3) keeps a new instruction only when its ROUGE-L with
    every instruction in the pool is below 0.7. Each text is tokenised once, as Stanford Alpaca's
    generate_instruction.py does, instead of re-tokenising the pool for every comparison.
    """

    def __init__(self, threshold: float, texts: list[str] | None = None) -> None:
        from rouge_score import rouge_scorer, tokenizers

        self.threshold = threshold
        self._lcs = rouge_scorer._score_lcs  # the scorer's own LCS on token lists
        self._tokenize = tokenizers.DefaultTokenizer(use_stemmer=False).tokenize
        self._pool: list[list[str]] = []
        for text in texts or []:
            self.add(text)

    def __len__(self) -> int:
        return len(self._pool)

    def closest(self, text: str) -> float:
        """The highest ROUGE-L F1 between ``text`` and a pooled text (0.0 for an empty pool)."""
        tokens = self._tokenize(text)
        scores: list[Any] = [self._lcs(tokens, other) for other in self._pool]
        return max((score.fmeasure for score in scores), default=0.0)

    def is_duplicate(self, text: str) -> bool:
        """Whether ``text`` is too close to a pooled text to be kept."""
        return self.closest(text) > self.threshold

    def add(self, text: str) -> None:
        """Pool a kept text."""
        self._pool.append(self._tokenize(text))
