"""OSWorld's compare_htmls: two HTML files parsed by BeautifulSoup with lxml (the docs extra), walked in
document order side by side (the shorter walk ends the comparison, as OSWorld zips them): text nodes must be
equal; elements must have the same name, the same stripped text and the same attributes (`ignore_sdnum`:
LibreOffice's `sdnum` number-format attribute aside). An unreadable file scores 0.0.
"""
from __future__ import annotations

from ..registry import Need, metric

SOUP = Need("docs", ("bs4", "lxml"), "needs beautifulsoup4 and lxml: pip install '.[docs]'")


@metric(needs=(SOUP,), options={"ignore_sdnum"})
def compare_htmls(result: str | None, expected: str | None, ignore_sdnum: bool = False, **options) -> float:
    from bs4 import BeautifulSoup  # optional: docs extra
    try:
        with open(result, encoding="utf-8") as first, open(expected, encoding="utf-8") as second:
            soups = BeautifulSoup(first, "lxml"), BeautifulSoup(second, "lxml")
    except (OSError, TypeError, UnicodeDecodeError):
        return 0.0
    pairs = zip(soups[0].descendants, soups[1].descendants)          # recursiveChildGenerator, renamed
    return float(all(_same_node(a, b, ignore_sdnum) for a, b in pairs))


def _same_node(first, second, ignore_sdnum: bool) -> bool:
    from bs4 import Tag  # optional: docs extra
    if not (isinstance(first, Tag) and isinstance(second, Tag)):
        return first == second
    if first.name != second.name or first.text.strip() != second.text.strip():
        return False
    drop = {"sdnum"} if ignore_sdnum else set()
    return {k: v for k, v in first.attrs.items() if k not in drop} == \
        {k: v for k, v in second.attrs.items() if k not in drop}
