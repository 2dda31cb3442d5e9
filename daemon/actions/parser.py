"""UI-TARS text → action calls (name + keyword arguments), read character by character.

A regular expression cannot tell a blank line that separates two actions from a blank line inside typed text,
nor a quote that ends a string from an apostrophe inside it; a small scanner can. Nothing here is evaluated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

ACTION_LINE = re.compile(r"^[ \t]*Action[ \t]*:[ \t]*", re.MULTILINE)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LEAKED_TOKENS = ("<|im_end|>", "<|endoftext|>")
ESCAPES = {"n": "\n", "t": "\t", "'": "'", '"': '"', "\\": "\\", "r": "\r"}


class ParseError(ValueError):
    """The prediction cannot be read as actions; the message says where and why."""


@dataclass
class Call:
    name: str
    args: dict[str, str] = field(default_factory=dict)


def strip_leaked_tokens(text: str) -> str:
    for token in LEAKED_TOKENS:
        text = text.replace(token, "")
    return text


def parse_calls(prediction: str) -> list[Call]:
    """All action calls after the first line-initial `Action:`; prose after the last call is ignored."""
    text = strip_leaked_tokens(prediction)
    match = ACTION_LINE.search(text)
    if not match:
        raise ParseError("no 'Action:' line in the prediction")
    scanner = _Scanner(text, match.end())
    calls = [scanner.call()]
    while scanner.next_is_call():
        calls.append(scanner.call())
    return calls


class _Scanner:
    def __init__(self, text: str, pos: int):
        self.text, self.pos = text, pos

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next_is_call(self) -> bool:
        """Another action follows when the rest starts with `name(`; anything else is prose."""
        self.skip_space()
        match = NAME.match(self.text, self.pos)
        return bool(match) and self.text[match.end():match.end() + 1] == "("

    def call(self) -> Call:
        self.skip_space()
        match = NAME.match(self.text, self.pos)
        if not match:
            raise ParseError("expected an action name after 'Action:', "
                             f"found {self.text[self.pos:self.pos + 20]!r}")
        self.pos = match.end()
        if self.peek() != "(":
            raise ParseError(f"action {match.group()!r} has no '(' argument list")
        self.pos += 1
        call = Call(match.group())
        self.skip_space()
        while self.peek() != ")":
            if not self.peek():
                raise ParseError(f"action {call.name!r} is not closed with ')' (truncated output?)")
            key, value = self.argument(call.name)
            call.args[key] = value
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
                self.skip_space()
        self.pos += 1
        return call

    def argument(self, action: str) -> tuple[str, str]:
        match = NAME.match(self.text, self.pos)
        if not match:
            raise ParseError(f"action {action!r}: expected key='value', "
                             f"found {self.text[self.pos:self.pos + 20]!r}")
        self.pos = match.end()
        self.skip_space()
        if self.peek() != "=":
            raise ParseError(f"action {action!r}: argument {match.group()!r} has no '='")
        self.pos += 1
        self.skip_space()
        if self.peek() in ("'", '"'):
            return match.group(), self.quoted(action)
        return match.group(), self.bare(action)

    def quoted(self, action: str) -> str:
        """A string literal, escapes decoded once. A quote not followed by `,` or `)` is taken as content."""
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                out.append(ESCAPES.get(nxt, "\\" + nxt))
                self.pos += 2
                continue
            if char == quote and self._closes_argument(self.pos + 1):
                self.pos += 1
                return "".join(out)
            out.append(char)
            self.pos += 1
        raise ParseError(f"action {action!r}: unterminated string (truncated output?)")

    def _closes_argument(self, pos: int) -> bool:
        rest = self.text[pos:].lstrip(" \t")
        if rest.startswith(")"):
            return True
        return bool(re.match(r",\s*[A-Za-z_][A-Za-z0-9_]*\s*=", rest))

    def bare(self, action: str) -> str:
        """An unquoted value such as (235,512) or [1, 2, 3, 4]:
        up to the balancing bracket or the next , or )."""
        start, depth = self.pos, 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "([":
                depth += 1
            elif char in ")]":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.pos += 1
        value = self.text[start:self.pos].strip()
        if not value or self.pos >= len(self.text):
            raise ParseError(f"action {action!r}: unreadable argument value (truncated output?)")
        return value
