"""Word lists matched against many texts at once: extreme words in titles, risk keywords in reviews.

One Aho–Corasick automaton (`ahocorasick_rs`, Rust) scans each text once whatever the number of words, where a
regex alternation slows down with each word added. pyahocorasick was measured first: on Chinese titles with a
1,000-word lexicon it was only 1.3× faster than the regex (its transitions over a CJK-sized alphabet cost ~300 ns
a character); ahocorasick_rs was 12× (`make bench`, lexicon). The files the words come from, and what a match
means, belong to the modules that use a lexicon (e.g. `compliance` for the Advertising Law's terms).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

import ahocorasick_rs
import numpy as np
import pandas as pd


SEPARATOR = "\x00"  # between texts scanned together: no word holds it, so no match spans two texts
DIGITS = frozenset("0123456789")


def normal(text: str) -> str:
    """A text as it is matched: NFKC (full-width １２３１５ and ３Ｃ as 12315 and 3C), lowered."""
    return unicodedata.normalize("NFKC", text).lower()


def _number(word: str) -> bool:
    """Whether a word is a number (a hotline: 12315, 12345): such a word matches only a number of its own."""
    w = normal(word)
    return bool(w) and all(c in DIGITS for c in w)


@dataclass(frozen=True)
class Lexicon:
    """Words (matched case-insensitively) with their group, and accepted phrases inside which a word is no match."""

    groups: dict[str, str]  # word as listed → group
    allowed: tuple[str, ...] = ()
    _words: tuple[str, ...] = field(default=(), repr=False, compare=False)  # as listed, in pattern order
    _automaton: ahocorasick_rs.AhoCorasick | None = field(default=None, repr=False, compare=False)
    _bytes: ahocorasick_rs.BytesAhoCorasick | None = field(default=None, repr=False, compare=False)

    def find(self, text: str | None) -> list[str]:
        """The distinct words in `text` outside its accepted phrases, as listed, in order of first appearance."""
        return self.find_all([text])[0]

    def find_all(self, texts: Iterable[str | None]) -> list[list[str]]:
        """`find` for each text (an empty list for a missing one), in one scan of the texts joined."""
        texts = [unicodedata.normalize("NFKC", t) if isinstance(t, str) else "" for t in texts]
        found: list[list[str]] = [[] for _ in texts]
        if self._automaton is None or not texts:
            return found
        joined = SEPARATOR.join(texts)
        lowered = joined.lower()  # at once: the same text as lowering each, unless a text holds the separator or a
        if joined.count(SEPARATOR) != len(texts) - 1 or len(lowered) != len(joined):  # letter lowers to two (İ)
            texts = [t.lower().replace(SEPARATOR, " ") for t in texts]
            lowered = SEPARATOR.join(texts)
        hits = self._automaton.find_matches_as_indexes(lowered, overlapping=True)
        if not hits:
            return found
        ends = np.cumsum([len(t) + 1 for t in texts])  # a match in text i ends before ends[i]
        owners = np.searchsorted(ends, [start for _, start, _ in hits], side="right").tolist()
        words, allowed = self._words, {}
        for owner, (index, start, end) in zip(owners, hits):
            if index >= len(words):
                allowed.setdefault(owner, []).append((start, end))
        for owner, (index, start, end) in zip(owners, hits):
            if index < len(words) and not any(a <= start and end <= b for a, b in allowed.get(owner, ())):
                if self._in_number(index, lowered[start - 1:start], lowered[end:end + 1]):
                    continue
                if words[index] not in found[owner]:
                    found[owner].append(words[index])
        return found

    def pairs(self, texts) -> tuple[np.ndarray, np.ndarray]:
        """(text position, word position in `words`) of each distinct word in each text outside its accepted phrases,
        by text then first appearance: `find_all` for a column of millions (a pandas or Arrow string column, or a
        list). The texts are lowered in Arrow and their UTF-8 bytes scanned in Arrow's own buffer (a DFA over
        bytes), with no Python string per text; a match running from one text into the next is dropped."""
        import pyarrow as pa
        import pyarrow.compute as pc
        none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        column = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(
            texts.array if isinstance(texts, pd.Series) else list(texts), type=pa.large_string(), from_pandas=True)
        low = pc.utf8_lower(pc.utf8_normalize(pc.cast(column, pa.large_string()), "NFKC"))
        low = low.combine_chunks() if isinstance(low, pa.ChunkedArray) else low
        if self._bytes is None or len(low) == 0 or low.buffers()[2] is None:
            return none
        offsets = np.frombuffer(low.buffers()[1], dtype=np.int64)[low.offset:low.offset + len(low) + 1]
        data = memoryview(low.buffers()[2]).cast("B")[offsets[0]:offsets[-1]]
        hits = self._bytes.find_matches_as_indexes(data, overlapping=True)
        if not hits:
            return none
        index, start, end = np.asarray(hits, dtype=np.int64).T
        bounds = offsets - offsets[0]
        owner = np.searchsorted(bounds, start, side="right") - 1
        inside = end <= bounds[owner + 1]
        index, start, end, owner = index[inside], start[inside], end[inside], owner[inside]
        number = np.append(self._numbers(), False)[np.minimum(index, len(self._words))]  # accepted phrases: False
        if number.any():  # a number (12315) inside a longer number (an order number 3123156…) is no match
            raw = np.frombuffer(data, dtype=np.uint8)  # an ASCII digit is never a byte of a longer UTF-8 character
            before = np.where(start > bounds[owner], raw[np.maximum(start - 1, 0)], 0)
            after = np.where(end < bounds[owner + 1], raw[np.minimum(end, len(raw) - 1)], 0)
            keep = ~(number & ((before >= 0x30) & (before <= 0x39) | (after >= 0x30) & (after <= 0x39)))
            index, start, end, owner = index[keep], start[keep], end[keep], owner[keep]
        word = index < len(self._words)
        if not word.all():  # accepted phrases: a word inside one found in the same text is no match
            spans: dict[int, list[tuple[int, int]]] = {}
            for o, a, b in zip(owner[~word].tolist(), start[~word].tolist(), end[~word].tolist()):
                spans.setdefault(o, []).append((a, b))
            keep = word.copy()
            for i in np.flatnonzero(word & np.isin(owner, list(spans))).tolist():
                keep[i] = not any(a <= start[i] and end[i] <= b for a, b in spans[int(owner[i])])
            index, start, owner = index[keep], start[keep], owner[keep]
        order = np.lexsort((start, owner))
        index, owner = index[order], owner[order]
        first = np.unique(owner * (len(self._words) + 1) + index, return_index=True)[1]
        first.sort()
        return owner[first], index[first]

    def _numbers(self) -> np.ndarray:
        """Per word: whether it is a number (12315)."""
        return np.array([_number(w) for w in self._words], dtype=bool)

    def _in_number(self, index: int, before: str, after: str) -> bool:
        """Whether word `index`, a number (12315), is matched inside a longer number (an order number 3123156…)."""
        return _number(self._words[index]) and (before in DIGITS or after in DIGITS)

    @property
    def words(self) -> tuple[str, ...]:
        """The words as listed, in the order `pairs` numbers them."""
        return self._words

    def group(self, word: str) -> str:
        """The group a word belongs to."""
        return self.groups[word]


def build(groups: dict[str, Iterable[str] | None], allowed: Iterable[str] = ()) -> Lexicon:
    """A lexicon from group → words (blank words dropped; a word listed twice keeps its first group)."""
    words: dict[str, str] = {}
    seen: set[str] = set()
    for group, items in groups.items():
        for word in items or ():
            word = str(word).strip()
            if word and normal(word) not in seen:
                seen.add(normal(word))
                words[word] = str(group)
    allowed = tuple(p for p in (str(a).strip() for a in allowed) if p)
    patterns = tuple(normal(w) for w in words) + tuple(normal(p) for p in allowed)
    automaton = (ahocorasick_rs.AhoCorasick(list(patterns), matchkind=ahocorasick_rs.MatchKind.Standard)
                 if words else None)
    in_bytes = (ahocorasick_rs.BytesAhoCorasick([p.encode() for p in patterns], matchkind=ahocorasick_rs.MatchKind.Standard,
                                                implementation=ahocorasick_rs.Implementation.DFA) if words else None)
    return Lexicon(words, allowed, tuple(words), automaton, in_bytes)
