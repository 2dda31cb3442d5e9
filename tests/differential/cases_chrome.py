"""Inputs for the Chrome metrics: the values of tests/evaluation/test_chrome.py (what the getters hand over),
and for the real tasks scored by an active tab or the open tabs, the tabs their rules expect and other
ones."""
from __future__ import annotations

from .cases_rules import real_rules
from .cases_text import values

A = {"type": "url", "url": "https://a.com"}
APPROXIMATE = {"type": "url", "url": "chrome://password-manager/passwords?x=1"}
PATTERNS = {"expected": [r"q=cat", r"x\.org"]}
TABS = [{"url": "https://b.com"}, {"url": "https://www.a.com/"}]
BOOKMARKS = {"bookmark_bar": {"children": [
    {"type": "folder", "name": "Liked Authors", "children": [{"type": "url", "url": "u1"}, {"type": "url",
                                                                                            "url": "u3"}]},
    {"type": "url", "url": "https://x.org", "name": "x"}]}}
LIKED = {"type": "liked_authors_websites_urls", "names": ["Liked Authors"], "urls": [["u1", "u2"], ["u3"]]}
COOKIES = [[1, ".amazon.com"], [2, "smile.amazon.com"]]
COOKIE_RULE = {"type": "domains", "domains": ["amazon.com"]}
FONT = {"type": "range", "min": 16, "max": 99999}
SHORTCUT = {"game.desktop": "[Desktop Entry]\nName=Play Puzzle Game 2048\nExec=x\n"}
HISTORY = [["https://youtube.com/watch", "Rick", 1]]
YOUTUBE = {"type": "keywords", "keywords": ["youtube"]}

FIXTURES = [
    values("is_expected_active_tab", "www", {"url": "https://www.a.com/"}, A),
    values("is_expected_active_tab", "other", "https://b.com", A),
    values("is_expected_active_tab", "none", None, A),
    values("is_expected_active_tab_approximate", "query", "chrome://password-manager/passwords", APPROXIMATE),
    values("is_expected_active_tab_approximate", "slash", "chrome://password-manager/passwords/",
           APPROXIMATE),
    values("is_expected_url_pattern_match", "match", {"url": "https://x.org/a?q=cat"}, PATTERNS),
    values("is_expected_url_pattern_match", "text", "https://x.org/a?q=dog", PATTERNS),
    values("is_expected_tabs", "both", TABS, {"type": "url", "urls": ["https://a.com", "https://b.com"]}),
    values("is_expected_tabs", "one", TABS, {"type": "url", "urls": ["https://a.com"]}),
    values("is_expected_search_query", "match", {"url": "https://g.com/?q=news"},
           {"expect": {"pattern": "q=news"}}),
    values("is_expected_search_query", "miss", {"url": "https://g.com/"}, {"expect": {"pattern": "q=news"}}),
    values("is_expected_bookmarks", "folders", BOOKMARKS, {"type": "bookmark_bar_folders_names",
                                                           "names": ["Liked Authors"]}),
    values("is_expected_bookmarks", "sites", BOOKMARKS, {"type": "bookmark_bar_websites_urls",
                                                         "urls": ["https://y.org"]}),
    values("is_expected_bookmarks", "liked", BOOKMARKS, LIKED),
    values("is_expected_bookmarks", "liked-other", BOOKMARKS, {**LIKED, "urls": [["u2"], ["u3"]]}),
    values("is_cookie_deleted", "kept", COOKIES, COOKIE_RULE),
    values("is_cookie_deleted", "deleted", COOKIES[1:], COOKIE_RULE),
    values("check_font_size", "bound", {"default_font_size": 16}, FONT),
    values("check_font_size", "inside", {"default_font_size": 17}, FONT),
    values("is_shortcut_on_desktop", "name", SHORTCUT, {"type": "name", "name": "Play Puzzle Game 2048"}),
    values("is_shortcut_on_desktop", "prefix", SHORTCUT, {"type": "name", "name": "Play"}),
    values("check_history_deleted", "kept", HISTORY, YOUTUBE),
    values("check_history_deleted", "deleted", [], YOUTUBE),
]


def tabs_for(metric: str, rules: dict, passing: bool):
    if metric == "is_expected_active_tab" and rules.get("type") == "url":
        return {"url": rules["url"] if passing else "https://example.org/elsewhere"}
    if metric == "is_expected_tabs" and rules.get("type") == "url":
        return [{"url": url} for url in (rules["urls"] if passing else rules["urls"][:-1])]
    if metric == "is_expected_installed_extensions":
        return rules["expected"] + ["Dark Reader"] if passing else rules["expected"][:-1]
    if metric == "is_added_to_steam_cart":
        return {"content": f"Your cart: {', '.join(rules['items'])}" if passing else "Your cart is empty"}
    return None


CASES = FIXTURES + real_rules(("is_expected_active_tab", "is_expected_tabs",
                               "is_expected_installed_extensions", "is_added_to_steam_cart"), tabs_for)
