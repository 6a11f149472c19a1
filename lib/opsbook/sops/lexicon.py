"""Word lists matched against many texts at once: extreme words in titles, risk keywords in reviews.

A lexicon is a YAML mapping of group → words in `data/reference/` (e.g. `ad_words.yaml`), extended by the shop
with a file of the same name in `data/reference/shop/`. Matching uses one Aho–Corasick automaton
(`ahocorasick_rs`, Rust): every text is scanned once whatever the number of words, where a regex alternation
slows down with each word added. pyahocorasick was measured first: on Chinese titles with a 1,000-word lexicon it
was only 1.3× faster than the regex (its transitions over a CJK-sized alphabet cost ~300 ns a character);
ahocorasick_rs was 12×.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import ahocorasick_rs
import yaml

from .. import paths
from ..errors import DataError

FOLDER = Path("data") / "reference"
SHOP_FOLDER = FOLDER / "shop"  # the shop's own additions, kept apart from the shipped lists


@dataclass(frozen=True)
class Lexicon:
    """Words with the group each belongs to, and the automaton that finds them."""

    groups: dict[str, str]  # word → group
    automaton: ahocorasick_rs.AhoCorasick | None = field(repr=False, compare=False)

    def find(self, text: str) -> list[str]:
        """The distinct words of the lexicon in `text`, in order of first appearance (overlaps included)."""
        if not text or self.automaton is None:
            return []
        return list(dict.fromkeys(self.automaton.find_matches_as_strings(text, overlapping=True)))

    def find_all(self, texts: Iterable[str | None]) -> list[list[str]]:
        """`find` for each text (an empty list for a missing one)."""
        return [self.find(t) if isinstance(t, str) else [] for t in texts]

    def group(self, word: str) -> str:
        """The group a word belongs to."""
        return self.groups[word]


def build(groups: dict[str, list[str]]) -> Lexicon:
    """A lexicon from group → words (blank words dropped; a word in two groups keeps the first)."""
    words: dict[str, str] = {}
    for group, items in groups.items():
        for word in items or ():
            word = str(word).strip()
            if word:
                words.setdefault(word, str(group))
    automaton = ahocorasick_rs.AhoCorasick(list(words), matchkind=ahocorasick_rs.MatchKind.Standard) if words else None
    return Lexicon(words, automaton)


def _read(path: Path) -> dict[str, list[str]]:
    """Group → words of one lexicon file, or a Chinese DataError naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"词库 {path} 无法读取：{str(exc).splitlines()[0]}（应为 UTF-8 的 YAML 文件）") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) or v is None for v in data.values()):
        raise DataError(f"词库 {path} 的格式不对：应写成“分组: [词, 词, …]”，每个分组下是一个词的列表")
    return {str(k): [str(w) for w in (v or [])] for k, v in data.items()}


@lru_cache(maxsize=16)
def _cached(name: str, stamps: tuple) -> Lexicon:
    groups: dict[str, list[str]] = {}
    for path, _mtime in stamps:
        for group, words in _read(Path(path)).items():
            groups.setdefault(group, []).extend(words)
    return build(groups)


def load(name: str) -> Lexicon:
    """The lexicon `data/reference/<name>.yaml` plus the shop's `data/reference/shop/<name>.yaml` if present."""
    files = [paths.root() / folder / f"{name}.yaml" for folder in (FOLDER, SHOP_FOLDER)]
    if not files[0].is_file():
        raise DataError(f"找不到词库 {FOLDER / (name + '.yaml')}：请从代码仓库恢复该文件")
    return _cached(name, tuple((str(f), f.stat().st_mtime) for f in files if f.is_file()))
