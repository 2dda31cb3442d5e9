"""Checks of live desktop state: VLC's player status and window, the accessibility tree, GNOME's favourite
apps. From OSWorld's metrics of the same names (`vlc.py`, `general.check_accessibility_tree`, `basic_os.py`).

is_vlc_playing: VLC's status.xml (web interface) says "playing", and its media matches the rule, as current
upstream looks for it: `file_name`: the first non-empty of the meta infos filename, title, uri, location, name
ends with the file name; `url`: the first non-empty of url, URI, location, title, filename (then Stream 0's
Codec, Type, Language) contains the URL, or equals the URL's file name (HLS streams show only it), or is a URL
on the same host whose path contains the URL's path. Another rule type scores 0.0, as upstream.
is_vlc_fullscreen: the window's width and height equal the screen's.
check_accessibility_tree: every rule finds at least one element, by its `xpath` (preferred) or its CSS
`selectors` (joined by ", "), with the prefixes st/attr/cp/... bound as the tree itself declares them
(OSWorld's servers and metrics agree on the prefixes; their URIs changed between versions); a rule's `text`
must equal the text of one found element. Needs lxml and cssselect (the docs extra; what OSWorld uses, for
identical XPath and selector semantics); the rule key `exact` (fuzzy text matching) is refused.
check_gnome_favorite_apps: `gsettings get org.gnome.shell favorite-apps` lists the expected apps, in any
order. Unreadable results score 0.0.
"""
from __future__ import annotations

import ast
import os
import urllib.parse
from xml.etree import ElementTree

from ..registry import Need, metric

A11Y = Need("docs", ("lxml", "cssselect"),
            "needs lxml and cssselect, in the docs extra: pip install '.[docs]'")
META = 'information/category[@name="meta"]/info[@name="{}"]'
STREAM = 'information/category[@name="Stream 0"]/info[@name="{}"]'
FILE_NAME_INFOS = [META.format(name) for name in ("filename", "title", "uri", "location", "name")]
URL_INFOS = [META.format(name) for name in ("url", "URI", "location", "title", "filename")] + \
            [STREAM.format(name) for name in ("Codec", "Type", "Language")]


# --- VLC ----------------------------------------------------------------------------------------------------
def _first_info(status: ElementTree.Element, paths: list[str]) -> str | None:
    for path in paths:
        element = status.find(path)
        if element is not None and element.text:
            return element.text
    return None


def _is_url_of(shown: str, url: str) -> bool:
    if url in shown:
        return True
    try:
        wanted, actual = urllib.parse.urlparse(url), urllib.parse.urlparse(shown)
    except ValueError:
        return False
    if shown == os.path.basename(wanted.path):
        return True
    return "://" in shown and wanted.netloc == actual.netloc and wanted.path in actual.path


@metric(rule_keys={"type", "file_name", "url"})
def is_vlc_playing(result: str | None, rules: dict, **options) -> float:
    try:
        status = ElementTree.parse(result).getroot() if result else None
    except (OSError, ElementTree.ParseError):
        return 0.0
    if status is None or status.findtext("state") != "playing":
        return 0.0
    if rules.get("type") == "file_name":
        shown = _first_info(status, FILE_NAME_INFOS)
        return float(shown is not None and shown.endswith(rules["file_name"]))
    if rules.get("type") == "url":
        shown = _first_info(status, URL_INFOS)
        return float(shown is not None and _is_url_of(shown, rules["url"]))
    return 0.0


@metric()
def is_vlc_fullscreen(window: dict | None, screen: dict | None, **options) -> float:
    """The arguments come as the task orders them (OSWorld's tasks give the screen first); equality is
    symmetric."""
    if not isinstance(window, dict) or not isinstance(screen, dict):
        return 0.0
    return float(all(key in window and window.get(key) == screen.get(key) for key in ("width", "height")))


# --- Accessibility tree -------------------------------------------------------------------------------------
def _elements(tree, rule: dict, namespaces: dict) -> list:
    from cssselect import SelectorError  # optional: docs extra
    from lxml import etree  # optional: docs extra
    from lxml.cssselect import CSSSelector  # optional: docs extra
    try:
        if "xpath" in rule:
            found = tree.xpath(rule["xpath"], namespaces=namespaces)
        else:
            found = CSSSelector(", ".join(rule["selectors"]), namespaces=namespaces)(tree)
    except (etree.XPathError, SelectorError, KeyError):
        return []                                      # upstream scores a rule it cannot evaluate as 0
    return found if isinstance(found, list) else []


@metric(needs=(A11Y,), rule_keys={"xpath", "selectors", "text"})
def check_accessibility_tree(result: str | None, rules: list, **options) -> float:
    from lxml import etree  # optional: docs extra
    if not result:
        return 0.0
    try:
        tree = etree.fromstring(result.encode())
    except etree.XMLSyntaxError:
        return 0.0
    namespaces = {prefix: uri for prefix, uri in tree.nsmap.items() if prefix}
    for rule in rules:
        found = _elements(tree, rule, namespaces)
        if not found:
            return 0.0
        if "text" in rule and not any(etree.iselement(element) and (element.text or "") == rule["text"]
                                      for element in found):
            return 0.0
    return 1.0


# --- GNOME --------------------------------------------------------------------------------------------------
@metric(rule_keys={"expected"})
def check_gnome_favorite_apps(result: str | None, rules: dict, **options) -> float:
    """gsettings prints a Python-style list ("['a.desktop', 'b.desktop']"); "@as []" (empty) is not one:
    0.0."""
    try:
        apps = ast.literal_eval((result or "").strip())
    except (ValueError, SyntaxError):
        return 0.0
    expected = rules["expected"]
    return float(isinstance(apps, list) and len(apps) == len(expected) and set(apps) == set(expected))
