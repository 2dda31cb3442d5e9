"""Request bodies: JSON parsed only after a nesting check, so no body can drive the parser into a
RecursionError.

The check runs at C speed on bytes: escapes dropped, then strings, then everything but brackets; each pass of
`_INNERMOST` then peels one level. Every regex here is linear (no nested quantifiers that can backtrack).
"""
from __future__ import annotations

import json
import re

_ESCAPE = re.compile(rb"\\.", re.S)
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_INNERMOST = re.compile(rb"[\[{][\]}]")


class BodyError(ValueError):
    """The body is not a JSON object this daemon accepts; the message says why."""


def nested_deeper_than(raw: bytes, limit: int) -> bool:
    """True when brackets nest more than `limit` levels
    (or never balance: then the JSON is invalid anyway)."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", _ESCAPE.sub(b"", raw)))
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False
    for _ in range(limit):
        brackets = _INNERMOST.sub(b"", brackets)
        if not brackets:
            return False
    return True


def parse_json_object(raw: bytes, max_depth: int) -> dict:
    """The body as a dict ({} when empty); BodyError when it is not JSON, nested too deep or not an object."""
    if not raw.strip():
        return {}
    if nested_deeper_than(raw, max_depth):
        raise BodyError(f"body nests deeper than {max_depth} levels (server.max_json_depth)")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BodyError(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BodyError("body must be a JSON object")
    # A lone surrogate (\ud800) parses, but no worker could ever write it out as UTF-8.
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError("body holds a string with a lone UTF-16 surrogate escape (\\ud800-\\udfff): not "
                        "valid Unicode") from None
    return body
