"""A subset of the VirusTotal Intelligence query language, evaluated over the world.

Supported: ``entity:file|url|domain|ip`` (files by default), ``type:`` (file type tag or
extension), ``p:``/``positives:`` with ``N``, ``N+``, ``N-``, ``tag:``, ``name:`` (substring of
any name), ``size:`` (bytes, ``kb``/``mb``, ``+``/``-``), ``fs:``/``ls:`` (first/last seen,
``YYYY-MM-DD`` with ``+``/``-``), ``engines:`` (substring of any engine's result), bare words
(a hash matches exactly; other words match names, tags, URLs and hosts), parentheses, ``and``/
``or``/``not`` in any case (juxtaposition is ``and``; ``-term`` is ``not term``), and
``content:"text"``/``content:{hex}`` (hex may use ``??`` wildcards) over the world's file bytes.

Refused with the service's own errors: content searches shorter than 4 literal bytes
(``UnselectiveContentQueryError``); content under ``or``/``not``, on another entity, or as a
regular expression ``content:/.../`` (``UnsupportedContentQueryError``); unknown modifiers,
unbalanced quotes, braces or parentheses and malformed values (``InvalidArgumentError``).
Everything else VirusTotal supports (similarity, behaviour, ``metadata:`` ...) is an unknown
modifier here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._errors import ApiError
from ._world import World, WorldObject

__all__ = ["CompiledQuery", "compile_query"]

_ENTITIES = {"file": "file", "url": "url", "domain": "domain", "ip": "ip_address", "ip_address": "ip_address"}
_MODIFIERS = frozenset(
    {"entity", "type", "p", "positives", "tag", "name", "size", "fs", "ls", "engines", "content"}
)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lpar>\() | (?P<rpar>\)) |
        (?P<neg>-)?(?P<mod>[A-Za-z_][A-Za-z0-9_-]*):(?P<val>"[^"]*"|\{[^}]*\}|/[^/]*/|[^\s()]*) |
        (?P<quoted>"[^"]*") |
        (?P<word>-?[^\s()"]+)
    )""",
    re.VERBOSE,
)
_HEX_CONTENT = re.compile(r"(?:[0-9a-fA-F]{2}|\?\?|\s)+")

Predicate = Callable[[World, WorldObject], bool]


def _bad(message: str) -> ApiError:
    return ApiError("InvalidArgumentError", message)


@dataclass
class _Token:
    kind: str
    text: str
    value: str = ""
    neg: bool = False


def _tokenize(query: str) -> list[_Token]:
    if query.count('"') % 2:
        raise _bad("Unbalanced quotes in query")
    if query.count("{") != query.count("}"):
        raise _bad("Unbalanced braces in query")
    out: list[_Token] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if m is None or m.end() == pos:
            raise _bad(f"Cannot parse query near {query[pos : pos + 20]!r}")
        pos = m.end()
        if m.group("lpar"):
            out.append(_Token("(", "("))
        elif m.group("rpar"):
            out.append(_Token(")", ")"))
        elif m.group("mod"):
            mod = m.group("mod").lower()
            if mod in ("http", "https"):
                out.append(_Token("word", m.group(0).strip()))
            else:
                out.append(_Token("mod", mod, m.group("val"), neg=bool(m.group("neg"))))
        elif m.group("quoted"):
            out.append(_Token("word", m.group("quoted")[1:-1]))
        else:
            word = m.group("word")
            upper = word.upper()
            if upper in ("AND", "OR", "NOT"):
                out.append(_Token(upper, word))
            elif word.startswith("-") and len(word) > 1:
                out.append(_Token("word", word[1:], neg=True))
            else:
                out.append(_Token("word", word))
    return out


@dataclass
class CompiledQuery:
    """A parsed query: which entity it searches, its predicate, and its content terms."""

    entity: str
    predicate: Predicate
    content: list[tuple[bytes | re.Pattern[bytes], bool]]

    @property
    def is_content(self) -> bool:
        """Whether the query searches file bytes (``order`` is then ignored)."""
        return bool(self.content)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.entity: str | None = None
        self.content: list[tuple[bytes | re.Pattern[bytes], bool]] = []
        self.negated = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            raise _bad("The query is empty")
        pred = self.or_expr()
        if self.peek() is not None:
            raise _bad("Unbalanced parentheses in query")
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda w, o: any(p(w, o) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while (tok := self.peek()) is not None and tok.kind not in ("OR", ")"):
            if tok.kind == "AND":
                self.take()
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda w, o: all(p(w, o) for p in parts)

    def not_expr(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise _bad("The query ends where a term was expected")
        if tok.kind == "NOT" or tok.neg:
            if tok.kind == "NOT":
                self.take()
            else:
                tok.neg = False
            self.negated += 1
            inner = self.not_expr()
            self.negated -= 1
            return lambda w, o: not inner(w, o)
        return self.atom()

    def atom(self) -> Predicate:
        tok = self.take()
        if tok.kind == "(":
            pred = self.or_expr()
            if self.peek() is None or self.take().kind != ")":
                raise _bad("Unbalanced parentheses in query")
            return pred
        if tok.kind == "word":
            return _word(tok.text)
        if tok.kind == "mod":
            return self.modifier(tok.text, tok.value)
        raise _bad(f"Unexpected {tok.text!r} in query")

    def modifier(self, name: str, raw: str) -> Predicate:
        if name not in _MODIFIERS:
            raise _bad(f"Unknown search modifier {name!r}")
        value = raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
        if name == "entity":
            entity = _ENTITIES.get(value.lower())
            if entity is None:
                raise _bad(f"Unknown entity {value!r}")
            self.entity = entity
            return lambda w, o: True
        if name == "content":
            return self.content_term(raw)
        if not value:
            raise _bad(f"The modifier {name!r} needs a value")
        if name in ("p", "positives"):
            check = _compare(value, int, "positives")
            return lambda w, o: check(int(o.attributes.get("last_analysis_stats", {}).get("malicious", 0)))
        if name == "size":
            check = _compare(value, _size, "size")
            return lambda w, o: o.type == "file" and check(int(o.attributes.get("size", 0)))
        if name in ("fs", "ls"):
            field = "first_submission_date" if name == "fs" else "last_submission_date"
            check = _compare(value, _date, name)
            return lambda w, o: field in o.attributes and check(int(o.attributes[field]))
        low = value.lower()
        if name == "type":
            return lambda w, o: (
                low
                in (
                    str(o.attributes.get("type_tag", "")).lower(),
                    str(o.attributes.get("type_extension", "")).lower(),
                )
            )
        if name == "tag":
            return lambda w, o: low in (str(t).lower() for t in o.attributes.get("tags", []))
        if name == "name":
            return lambda w, o: any(low in str(n).lower() for n in o.attributes.get("names", []))
        # engines:
        return lambda w, o: any(
            low in str(r.get("result") or "").lower()
            for r in w.attributes(o).get("last_analysis_results", {}).values()
        )

    def content_term(self, raw: str) -> Predicate:
        if self.negated:
            raise ApiError("UnsupportedContentQueryError", "Content searches cannot be negated or alternated")
        if raw.startswith("/"):
            raise ApiError(
                "UnsupportedContentQueryError", "Regular expression content searches are not supported"
            )
        if raw.startswith("{") and raw.endswith("}"):
            body = raw[1:-1]
            if not _HEX_CONTENT.fullmatch(body or " "):
                raise _bad("Malformed hex content search")
            parts = re.findall(r"[0-9a-fA-F]{2}|\?\?", body)
            literal = sum(1 for p in parts if p != "??")
            if literal < 4:
                raise ApiError("UnselectiveContentQueryError", "The content search is not selective enough")
            pattern = b"".join(b"." if p == "??" else re.escape(bytes.fromhex(p)) for p in parts)
            needle: bytes | re.Pattern[bytes] = re.compile(pattern, re.DOTALL)
        elif raw.startswith('"') and raw.endswith('"'):
            needle = raw[1:-1].encode()
            if len(needle) < 4:
                raise ApiError("UnselectiveContentQueryError", "The content search is not selective enough")
        else:
            raise _bad('content: takes "text" or {hex}')
        self.content.append((needle, False))
        if isinstance(needle, bytes):
            literal_bytes = needle
            return lambda w, o: o.content is not None and literal_bytes in o.content
        compiled = needle
        return lambda w, o: o.content is not None and compiled.search(o.content) is not None


def _compare(value: str, convert: Callable[[str], int], name: str) -> Callable[[int], bool]:
    op = value[-1] if value[-1] in "+-" else ""
    body = value[:-1] if op else value
    try:
        target = convert(body)
    except ValueError:
        raise _bad(f"Malformed value {value!r} for {name}") from None
    if op == "+":
        return lambda x: x >= target
    if op == "-":
        return lambda x: x <= target
    if convert is _date:
        return lambda x: target <= x < target + 86400
    return lambda x: x == target


def _size(text: str) -> int:
    low = text.lower()
    for suffix, factor in (("kb", 1024), ("mb", 1024 * 1024), ("b", 1)):
        if low.endswith(suffix):
            return int(low[: -len(suffix)]) * factor
    return int(low)


def _date(text: str) -> int:
    parsed = datetime.strptime(text[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


def _word(text: str) -> Predicate:
    low = text.lower()
    is_hash = re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}", low) is not None

    def match(world: World, obj: WorldObject) -> bool:
        attrs = obj.attributes
        if is_hash:
            return obj.type == "file" and low in (obj.id, attrs.get("md5"), attrs.get("sha1"))
        fields: list[Any] = [obj.id, attrs.get("url", ""), *attrs.get("names", []), *attrs.get("tags", [])]
        return any(low in str(f).lower() for f in fields)

    return match


def compile_query(query: str) -> CompiledQuery:
    """Parse ``query``; raise the ``ApiError`` the service would answer for a bad one."""
    tokens = _tokenize(query)
    parser = _Parser(tokens)
    predicate = parser.parse()
    if parser.content and any(t.kind == "OR" for t in tokens):
        # Stricter than needed (an OR elsewhere in the query is refused too); the service's
        # exact rule is UNCONFIRMED.
        raise ApiError("UnsupportedContentQueryError", "Content searches cannot be alternated")
    entity = parser.entity or "file"
    if parser.content and entity != "file":
        raise ApiError("UnsupportedContentQueryError", "Content searches only apply to files")
    return CompiledQuery(entity, predicate, parser.content)
