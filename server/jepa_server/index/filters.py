"""Client filter expressions: parsed against an allow-list grammar and re-rendered canonically.

A client's filter never reaches Milvus as typed: it is parsed here, every field, operator and
literal is checked, and a fresh expression is written from the parse tree. Anything outside the
grammar is INVALID_ARGUMENT naming `filter`, before any work is done.

    expr      := term (("or" | "||") term)*
    term      := factor (("and" | "&&") factor)*
    factor    := ("not" | "!") factor | "(" expr ")" | predicate
    predicate := operand ("==" | "!=" | "<" | "<=" | ">" | ">=") literal
               | operand ["not"] "in" "[" literal ("," literal)* "]"   (on a path: == each / != all)
               | operand "like" string
               | ("json_contains" | "json_contains_any" | "json_contains_all") "(" path "," value ")"
    operand   := scalar field | path
    path      := json field ("[" (string | integer) "]")+
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from jepa_server.errors import InvalidInput, LimitExceeded

FIELD = "filter"
MAX_DEPTH = 32
MAX_LIST = 1000


class FieldKind(Enum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"


_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_RENDER_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<string>"|')
    | (?P<symbol>==|!=|<=|>=|&&|\|\||[<>!()\[\],-])
    )""",
    re.VERBOSE,
)
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
_JSON_FUNCTIONS = {"json_contains": False, "json_contains_any": True, "json_contains_all": True}


def string_literal(value: str) -> str:
    """A Milvus string literal holding `value` exactly (rejects characters no escape can carry)."""
    if _CONTROL.search(value):
        raise InvalidInput(FIELD, "strings must not contain control characters")
    return '"' + "".join(_RENDER_ESCAPES.get(character, character) for character in value) + '"'


@dataclass(frozen=True)
class _Token:
    kind: str  # number, word, string, symbol, end
    text: str
    value: object
    column: int


def _read_string(text: str, start: int) -> tuple[str, int]:
    characters: list[str]
    quote, position, characters = text[start], start + 1, []
    while position < len(text):
        character = text[position]
        if character == quote:
            return "".join(characters), position + 1
        if character == "\\":
            escaped = _ESCAPES.get(text[position + 1 : position + 2])
            if escaped is None:
                raise InvalidInput(FIELD, f"unknown escape at column {position + 1}")
            characters.append(escaped)
            position += 2
            continue
        characters.append(character)
        position += 1
    raise InvalidInput(FIELD, f"unterminated string starting at column {start + 1}")


def _tokens(text: str) -> list[_Token]:
    value: object
    tokens, position = [], 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position == len(text):
            tokens.append(_Token("end", "", None, position + 1))
            return tokens
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidInput(FIELD, f"unexpected character {text[position]!r} at column {position + 1}")
        kind = match.lastgroup or ""
        column = match.start(kind) + 1
        if kind == "string":
            value, position = _read_string(text, match.start(kind))
            tokens.append(_Token("string", text[column - 1 : position], value, column))
            continue
        word = match.group(kind)
        value = word
        if kind == "number":
            value = float(word) if any(mark in word for mark in ".eE") else int(word)
        elif kind == "word" and word.lower() in ("and", "or", "not", "in", "like"):
            kind, value = "keyword", word.lower()
        elif kind == "word" and word in ("true", "True", "TRUE", "false", "False", "FALSE"):
            kind, value = "bool", word.lower() == "true"
        tokens.append(_Token(kind, word, value, column))
        position = match.end()


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, FieldKind], json_field: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.fields = fields
        self.json_field = json_field

    # -- token helpers
    @property
    def token(self) -> _Token:
        return self.tokens[self.position]

    def _fail(self, problem: str) -> InvalidInput:
        where = "at the end" if self.token.kind == "end" else f"at column {self.token.column} ({self.token.text!r})"
        return InvalidInput(FIELD, f"{problem} {where}")

    def _take(self, kind: str, *values: object) -> _Token | None:
        token = self.token
        if token.kind == kind and (not values or token.value in values):
            self.position += 1
            return token
        return None

    def _expect(self, kind: str, value: object, what: str) -> None:
        if self._take(kind, value) is None:
            raise self._fail(f"expected {what}")

    # -- grammar
    def parse(self) -> str:
        expression = self._or(0)
        if self.token.kind != "end":
            raise self._fail("unexpected input")
        return expression

    def _or(self, depth: int) -> str:
        parts = [self._and(depth)]
        while self._take("keyword", "or") or self._take("symbol", "||"):
            parts.append(self._and(depth))
        return parts[0] if len(parts) == 1 else " or ".join(parts)

    def _and(self, depth: int) -> str:
        parts = [self._factor(depth)]
        while self._take("keyword", "and") or self._take("symbol", "&&"):
            parts.append(self._factor(depth))
        return parts[0] if len(parts) == 1 else " and ".join(parts)

    def _factor(self, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise InvalidInput(FIELD, f"nested deeper than {MAX_DEPTH} levels")
        if self._take("keyword", "not") or self._take("symbol", "!"):
            inner = self._factor(depth + 1)
            return f"(not {inner})" if inner.startswith("(") else f"(not ({inner}))"
        if self._take("symbol", "("):
            inner = self._or(depth + 1)
            self._expect("symbol", ")", "')'")
            return f"({inner})"
        return self._predicate()

    def _predicate(self) -> str:
        token = self.token
        if token.kind == "word" and token.value in _JSON_FUNCTIONS:
            self.position += 1
            return self._json_function(str(token.value))
        operand, kind = self._operand()
        if self._take("keyword", "like"):
            if kind not in (FieldKind.STRING, None):
                raise self._fail(f"like needs a string field, {operand} is not")
            pattern = self._take("string")
            if pattern is None:
                raise self._fail("expected a string pattern")
            return f"{operand} like {string_literal(str(pattern.value))}"
        negated = bool(self._take("keyword", "not"))
        if self._take("keyword", "in"):
            values = self._list(kind)
            if kind is not None:
                return f"{operand} {'not in' if negated else 'in'} [{', '.join(values)}]"
            # Milvus Lite takes `in` on fields only: a path compares against each value.
            if negated:
                return "(" + " and ".join(f"{operand} != {value}" for value in values) + ")"
            return "(" + " or ".join(f"{operand} == {value}" for value in values) + ")"
        if negated:
            raise self._fail("expected 'in' after 'not'")
        comparison = self.token
        if comparison.kind != "symbol" or comparison.value not in _COMPARISONS:
            raise self._fail("expected a comparison (== != < <= > >=), in, not in or like")
        self.position += 1
        return f"{operand} {comparison.value} {self._literal(kind)}"

    def _operand(self) -> tuple[str, FieldKind | None]:
        """A scalar field and its kind, or a metadata path (kind None: any JSON value)."""
        token = self._take("word")
        if token is None:
            raise self._fail("expected a field")
        name = str(token.value)
        if name == self.json_field:
            return self._path(name), None
        if name not in self.fields:
            raise InvalidInput(FIELD, f"unknown field {name!r} at column {token.column}; allowed: {sorted([*self.fields, self.json_field])}")
        return name, self.fields[name]

    def _path(self, name: str) -> str:
        keys = []
        while self._take("symbol", "["):
            key = self._take("string") or self._take("number")
            if key is None or isinstance(key.value, float):
                raise self._fail("expected a string key or an integer index")
            keys.append(string_literal(key.value) if isinstance(key.value, str) else str(key.value))
            self._expect("symbol", "]", "']'")
        if not keys:
            raise self._fail(f'expected a key after {name}, as in {name}["key"]')
        return name + "".join(f"[{key}]" for key in keys)

    def _json_function(self, function: str) -> str:
        self._expect("symbol", "(", "'('")
        token = self._take("word")
        if token is None or token.value != self.json_field:
            raise self._fail(f"{function} takes a {self.json_field}[...] path")
        path = self._path(self.json_field)
        self._expect("symbol", ",", "','")
        value = f"[{', '.join(self._list(None))}]" if _JSON_FUNCTIONS[function] else self._literal(None)
        self._expect("symbol", ")", "')'")
        return f"{function}({path}, {value})"

    def _list(self, kind: FieldKind | None) -> list[str]:
        self._expect("symbol", "[", "'['")
        values = [self._literal(kind)]
        while self._take("symbol", ","):
            values.append(self._literal(kind))
            if len(values) > MAX_LIST:
                raise InvalidInput(FIELD, f"a list of more than {MAX_LIST} values")
        self._expect("symbol", "]", "']'")
        return values

    def _literal(self, kind: FieldKind | None) -> str:
        """A literal the field can hold (kind None: a metadata value, any literal)."""
        token = self.token
        if kind in (FieldKind.STRING, None) and self._take("string"):
            return string_literal(str(token.value))
        if kind is None and self._take("bool"):
            return "true" if token.value else "false"
        if kind in (FieldKind.INTEGER, FieldKind.NUMBER, None):
            negative = bool(self._take("symbol", "-"))
            number = self.token
            numeric = number.value
            if number.kind == "number" and isinstance(numeric, int | float) and (kind != FieldKind.INTEGER or isinstance(numeric, int)):
                if not math.isfinite(numeric):
                    raise self._fail("number out of range")
                self.position += 1
                value = -numeric if negative else numeric
                return repr(value) if isinstance(value, float) else str(value)
        expected_by_kind: dict[FieldKind | None, str] = {FieldKind.STRING: "a string", FieldKind.INTEGER: "an integer", FieldKind.NUMBER: "a number"}
        expected = expected_by_kind.get(kind, "a literal")
        raise self._fail(f"expected {expected}")


def parse_filter(text: str, fields: Mapping[str, FieldKind], json_field: str, max_chars: int) -> str:
    """The canonical Milvus expression of a client filter ("" stays ""), or InvalidInput naming `filter`."""
    if len(text) > max_chars:
        raise LimitExceeded(FIELD, f"{len(text)} characters, the limit is {max_chars}")
    if not text.strip():
        return ""
    if _CONTROL.search(text):
        raise InvalidInput(FIELD, "contains control characters")
    return _Parser(text, fields, json_field).parse()
