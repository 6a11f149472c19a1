"""The shops' compliance lists in `data/reference/`: sensitive categories and the qualifications their listings need
(`qualifications.yaml`), and the Advertising Law's absolute terms (`ad_words.yaml`). Both are shop-extendable; a
missing or malformed file is bad input (DataError), never an empty list that would pass every listing."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


from ..errors import DataError
from . import lexicon, reference

QUALIFICATIONS = Path("data") / "reference" / "qualifications.yaml"
AD_WORDS = Path("data") / "reference" / "ad_words.yaml"
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Sensitive:
    """A sensitive category: what it is called, the qualifications a listing of it needs, and what it matches (shop
    category names containing an alias, product names containing a keyword; an empty tuple matches anything)."""

    category: str
    qualifications: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    basis: str = ""


@dataclass(frozen=True)
class Term:
    """An absolute term of the Advertising Law: the word, its kind (最, 第一, 级 / 极 …) and severity."""

    word: str
    kind: str
    severity: str


def _words(value, where: str) -> tuple[str, ...]:
    """A YAML list of words as a tuple of stripped strings (none for a missing key); DataError for anything else."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and str(v).strip() for v in value):
        raise DataError(f"{where} 应为非空词语的列表，如 [食品, 零食]")
    return tuple(str(v).strip() for v in value)


def sensitive_categories() -> list[Sensitive]:
    """Every entry of `qualifications.yaml`, checked (each needs a category, qualifications and aliases or products)."""
    where = f"敏感类目资质表 {QUALIFICATIONS}"
    data = reference.read(QUALIFICATIONS, "敏感类目资质表")
    if not isinstance(data, list) or not all(isinstance(e, dict) and e.get("category") for e in data):
        raise DataError(f"{where} 应为列表，每项有 category、qualifications，以及 aliases 或 products")
    found = []
    for e in data:
        name = str(e["category"])
        entry = Sensitive(name, _words(e.get("qualifications"), f"{where} 中「{name}」的 qualifications"),
                          _words(e.get("aliases"), f"{where} 中「{name}」的 aliases"),
                          _words(e.get("products"), f"{where} 中「{name}」的 products"), str(e.get("basis") or ""))
        if not entry.qualifications or not (entry.aliases or entry.products):
            raise DataError(f"{where} 中「{name}」需要 qualifications，以及 aliases 或 products 至少一项")
        found.append(entry)
    return found


def _hit(text: str, words: tuple[str, ...]) -> int:
    """Length of the longest word contained in `text` (case-insensitive), 0 when none; 1 when `words` is empty."""
    if not words:
        return 1
    low = text.lower()
    return max((len(w) for w in words if w.lower() in low), default=0)


def requirements(category: str, name: str = "") -> list[Sensitive]:
    """The sensitive categories a product of shop category `category` named `name` falls in (empty: not sensitive).

    Entries matched through their aliases compete (the longest matching alias wins: 保健食品 before 食品); entries that
    match by product name alone (CCC) apply besides.
    """
    return requirements_all([category], [name])[0]


def requirements_all(categories, names) -> list[list[Sensitive]]:
    """`requirements` for many products (a catalogue): each distinct category is matched once, product names in one
    automaton pass per entry that names products."""
    entries = sensitive_categories()
    categories = [c if isinstance(c, str) else "" for c in categories]
    names = [n if isinstance(n, str) else "" for n in names]
    by_alias = [e for e in entries if e.aliases]  # in the file's order: the first of equally long aliases wins
    by_name = [e for e in entries if e.products and not e.aliases]
    named = [e for e in entries if e.products]
    hits = [[bool(f) for f in lexicon.build({e.category: e.products}).find_all(names)] for e in named]
    alias_hits = {c: [(_hit(c, e.aliases), e) for e in by_alias] for c in set(categories)}
    found: dict[tuple, list[Sensitive]] = {}  # a catalogue has few distinct (category, names matched) combinations
    out = []
    for key in zip(categories, *hits):
        if key not in found:
            named_here = {id(e) for e, hit in zip(named, key[1:]) if hit}
            competing = [(length, e) for length, e in alias_hits[key[0]]
                         if length and (not e.products or id(e) in named_here)]
            best = [max(competing, key=lambda pair: pair[0])[1]] if competing else []
            found[key] = best + [e for e in by_name if id(e) in named_here]
        out.append(found[key])
    return out


def ad_terms() -> list[Term]:
    """Every term of `ad_words.yaml` (the first kind and severity a word is listed with)."""
    where = f"广告法极限词库 {AD_WORDS}"
    data = reference.read(AD_WORDS, "广告法极限词库")
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list) or not all(isinstance(g, dict) and g.get("kind") for g in groups):
        raise DataError(f"{where} 应有 groups 列表，每组有 kind、severity、words")
    found: dict[str, Term] = {}
    for g in groups:
        severity = str(g.get("severity", ""))
        if severity not in SEVERITIES:
            raise DataError(f"{where} 中「{g['kind']}」的 severity 只能取 {'/'.join(SEVERITIES)}")
        for word in _words(g.get("words"), f"{where} 中「{g['kind']}」的 words"):
            found.setdefault(word.lower(), Term(word, str(g["kind"]), severity))
    return list(found.values())


def ad_allowed() -> tuple[str, ...]:
    """The accepted phrases of `ad_words.yaml`: a term inside one of them is no finding (第一步, 最佳赏味期 …)."""
    data = reference.read(AD_WORDS, "广告法极限词库")
    return _words(data.get("allowed") if isinstance(data, dict) else None, f"广告法极限词库 {AD_WORDS} 的 allowed")


@lru_cache(maxsize=4)
def _ad_lexicon(terms: tuple[Term, ...], allowed: tuple[str, ...]) -> lexicon.Lexicon:
    return lexicon.build({t.word: [t.word] for t in terms}, allowed)


def ad_lexicon() -> lexicon.Lexicon:
    """The Advertising Law's terms and accepted phrases as one automaton (rebuilt when the file changes)."""
    return _ad_lexicon(tuple(ad_terms()), ad_allowed())


def terms_in(text: str) -> list[Term]:
    """The absolute terms in `text`, outside its accepted phrases (case-insensitive), in the word list's order."""
    return terms_in_all([text])[0]


def terms_in_all(texts) -> list[list[Term]]:
    """`terms_in` for many texts (a catalogue of titles) in one automaton pass each."""
    terms = ad_terms()
    order = {t.word: i for i, t in enumerate(terms)}
    by_word = {t.word: t for t in terms}
    return [[by_word[w] for w in sorted(found, key=order.__getitem__)] if found else found
            for found in ad_lexicon().find_all(texts)]
