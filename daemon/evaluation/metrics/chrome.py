"""OSWorld's Chrome metrics. `rules` is the task's expected rule object; an empty result scores 0.0.

URLs are compared with compare_urls (formats/urls.py) except where OSWorld compares strings: the approximate
active tab (query dropped, then exact), URL patterns (re.search, every pattern must hit) and bookmark bar URLs
(exact sets).
is_expected_tabs ignores order but needs as many tabs as expected URLs.
"""
from __future__ import annotations

import itertools
import re
from urllib.parse import urlparse, urlunparse

from ..errors import MalformedTask
from ..formats.urls import URLS, compare_urls
from ..registry import metric


def _url_of(result) -> str | None:
    if isinstance(result, dict):
        return result.get("url")
    return result if isinstance(result, str) else None


@metric(needs=(URLS,))
def is_expected_active_tab(active_tab, rules: dict, **options) -> float:
    url = _url_of(active_tab) if active_tab else None
    return float(bool(url) and rules.get("type") == "url" and compare_urls(rules["url"], url))


@metric()
def is_expected_active_tab_approximate(active_tab, rules: dict, **options) -> float:
    url = _url_of(active_tab) if active_tab else None
    if not url or rules.get("type") != "url":
        return 0.0
    return float(_without_query(rules["url"]) == _without_query(url))


def _without_query(url: str) -> str:
    return urlunparse(urlparse(url)._replace(query=""))


@metric()
def is_expected_url_pattern_match(result, rules: dict, **options) -> float:
    url = _url_of(result) if result else None
    return float(bool(url) and all(re.search(pattern, url) for pattern in rules["expected"]))


@metric(needs=(URLS,))
def is_expected_tabs(open_tabs, rules: dict, **options) -> float:
    if not open_tabs or rules.get("type") != "url":
        return 0.0
    actual = [tab["url"] for tab in open_tabs]
    return float(len(actual) == len(rules["urls"]) and
                 all(any(compare_urls(expected, url) for url in actual) for expected in rules["urls"]))


@metric()
def is_expected_search_query(active_tab, rules: dict, **options) -> float:
    url = _url_of(active_tab) if active_tab else None
    return float(bool(url) and re.search(rules["expect"]["pattern"], url) is not None)


@metric()
def is_expected_bookmarks(bookmarks, rules: dict, **options) -> float:
    if not bookmarks:
        return 0.0
    bar = bookmarks["bookmark_bar"]["children"]
    kind = rules["type"]
    if kind == "bookmark_bar_folders_names":
        return float({item["name"] for item in bar if item["type"] == "folder"} == set(rules["names"]))
    if kind == "bookmark_bar_websites_urls":
        return float({item["url"] for item in bar if item["type"] == "url"} == set(rules["urls"]))
    if kind == "liked_authors_websites_urls":
        folder = next((item for item in bar if item["type"] == "folder" and
                       item["name"] in rules.get("names", ["Liked Authors"])), None)
        if folder is None:
            return 0.0
        saved = {item["url"] for item in folder["children"] if item["type"] == "url"}
        choices = [[urls] if isinstance(urls, str) else urls for urls in rules["urls"]]
        return float(any(set(pick) == saved for pick in itertools.product(*choices)))
    raise MalformedTask(f"is_expected_bookmarks: unknown rule type {kind!r}")


@metric()
def check_history_deleted(history, rules: dict, **options) -> float:
    if history is None or rules.get("type") != "keywords":
        return 0.0
    return float(not any(keyword in row[0] for keyword in rules["keywords"] for row in history))


@metric(needs=(URLS,))
def is_cookie_deleted(cookies, rules: dict, **options) -> float:
    if cookies is None or rules.get("type") != "domains":
        return 0.0
    return float(not any(compare_urls(domain, row[1]) for domain in rules["domains"] for row in cookies))


@metric()
def check_font_size(font_sizes, rules: dict, **options) -> float:
    if not font_sizes:
        return 0.0
    size = font_sizes["default_font_size"]
    if rules["type"] == "value":
        return float(size == rules["value"])
    return float(rules["type"] == "range" and rules["min"] < size < rules["max"])


@metric()
def is_shortcut_on_desktop(shortcuts, rules: dict, **options) -> float:
    if not shortcuts or rules.get("type") not in ("name", "exec"):
        return 0.0
    line = f"{'Name' if rules['type'] == 'name' else 'Exec'}={rules[rules['type']]}\n"
    return float(any(line in text for text in shortcuts.values()))


@metric()
def is_added_to_steam_cart(page, rules: dict, **options) -> float:
    content = (page or {}).get("content") or ""
    return float(all(item in content for item in rules["items"]))


@metric()
def is_expected_installed_extensions(installed, rules: dict, **options) -> float:
    return float(bool(installed) and set(rules["expected"]) <= set(installed))
