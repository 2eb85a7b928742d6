"""Ranking knowledge-base articles for what a customer is typing: plain
Python, no database, so it is the same on SQLite and PostgreSQL and tested in
milliseconds.

A simple ranked match: the words of the query (lower-cased, accents kept,
short stop-words dropped, a crude plural/ending trim) are looked up in each
article's title and body; a title hit weighs more, and an article that matches
more distinct query words beats one that repeats one word. Articles in the
customer's category and language come first among equals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
STOP_WORDS = frozenset("""a an and are as at be but by for from has have i if in is it my me of on or our so
that the their this to was we were what when where which who why will with you your not no can do does did
""".split())
TITLE_WEIGHT = 3.0
BODY_WEIGHT = 1.0
MIN_QUERY_WORDS = 1


@dataclass(frozen=True)
class Article:
    id: int
    title: str
    body: str
    category: str | None = None
    language: str | None = None


def stem(word: str) -> str:
    """'charged' 'charges' 'charging' -> 'charg': enough to match a customer's wording."""
    for ending in ("ing", "ed", "es", "s"):
        if len(word) > len(ending) + 3 and word.endswith(ending):
            return word[: -len(ending)]
    return word


def terms(text: str) -> list[str]:
    return [stem(w) for w in WORD_RE.findall((text or "").lower()) if len(w) > 1 and w not in STOP_WORDS]


def score(article: Article, query_terms: set[str], category: str | None = None,
          language: str | None = None) -> float:
    title, body = set(terms(article.title)), set(terms(article.body))
    matched = query_terms & (title | body)
    if not matched:
        return 0.0
    value = sum(TITLE_WEIGHT if t in title else BODY_WEIGHT for t in matched)
    value *= len(matched) / len(query_terms)  # covering more of the query counts most
    if category and article.category == category:
        value *= 1.5
    if language and article.language and _primary(article.language) == _primary(language):
        value *= 1.2
    return value


def rank(articles, query: str, category: str | None = None, language: str | None = None,
         limit: int = 3) -> list[tuple[Article, float]]:
    """The best `limit` articles for the query, best first; none for an empty query.
    An article in another language than the customer's is left out (when both are known)."""
    query_terms = set(terms(query))
    if len(query_terms) < MIN_QUERY_WORDS:
        return []
    scored = []
    for article in articles:
        if language and article.language and _primary(article.language) != _primary(language):
            continue
        value = score(article, query_terms, category, language)
        if value > 0:
            scored.append((article, value))
    scored.sort(key=lambda pair: (-pair[1], pair[0].id))
    return scored[:limit]


def _primary(language: str) -> str:
    return language.split("-", 1)[0].lower()
