"""Chrome: the DevTools client against the simulated Chrome, the steps, getters and metrics, real task
usage."""
from __future__ import annotations

import html
import json
import sqlite3
import sys

import pytest

from daemon.evaluation.admission import missing_capabilities
from daemon.evaluation.context import TaskContext
from daemon.evaluation.formats.urls import compare_urls
from daemon.evaluation.getters import GETTERS
from daemon.evaluation.getters.chrome import active_url
from daemon.evaluation.metrics.chrome import (
    check_font_size,
    check_history_deleted,
    is_cookie_deleted,
    is_expected_active_tab,
    is_expected_active_tab_approximate,
    is_expected_bookmarks,
    is_expected_search_query,
    is_expected_tabs,
    is_expected_url_pattern_match,
    is_shortcut_on_desktop,
)
from daemon.evaluation.steps import run_setup
from daemon.evaluation.steps.chrome import PROFILE
from daemon.guest.devtools import DevToolsClient, DevToolsError
from daemon.simulator import chrome
from tests.support import free_port, fresh_ip_base, running_chromium

from .fake_guest import FakeGuest
from .osworld_tasks import tasks_scored_by

pytest.importorskip("websocket", reason="the chrome extra is not installed")
pytest.importorskip("tldextract", reason="the chrome extra is not installed")


@pytest.fixture
def ctx(tmp_path):
    return TaskContext(task_id="chrome", cache_dir=tmp_path / "cache", step_timeout=10)


def chrome_guest(chrome_at=("127.0.0.1", chrome.PORT), simulated=None, files=None, tree=None) -> FakeGuest:
    """The guest of Chrome steps and getters: DevTools at `chrome_at`, the accessibility tree (by default the
    simulated Chrome's address bar), profile files."""
    if tree is None and simulated is not None:
        tree = lambda: f"<desktop-frame>{simulated.address_bar_xml()}</desktop-frame>"    # noqa: E731
    return FakeGuest(files, chrome_at=chrome_at, tree=tree)


@pytest.fixture(params=["simulated", "chromium"])
def browser(request, tmp_path):
    """(address, simulated Browser or None): the simulated Chrome on its own loopback address, as a simulated
    guest serves it, and a real headless Chromium, so the simulation is held to what Chrome does."""
    if request.param == "simulated":
        simulated, ip = chrome.Browser(), fresh_ip_base()
        chrome.serve(simulated, ip)
        yield (ip, chrome.PORT), simulated
        return
    port = free_port()
    with running_chromium(port, tmp_path / "profile"):
        DevToolsClient("127.0.0.1", port, timeout=5).wait_until_listening(within=10, pause=0.25)
        yield ("127.0.0.1", port), None


PAGE = ("data:text/html,<title>Fixture</title><div class='card'>Alpha <b>one</b></div>"
        "<div class='card'>Beta</div><div class='route'>SEA<i></i>NYC</div>"
        "<div class='hotel'><h3> Inn </h3></div>"
        "<ul class='cats'><li class='catAllProducts'><span>Shoes</span></li></ul>"
        "<form><input id='q' value='old'></form><p id='p'> para </p>")


# --- the DevTools client, on the simulated Chrome and on Chromium -------------------------------------------
def test_devtools_client_opens_waits_for_load_and_closes_tabs(browser):
    (ip, port), simulated = browser
    client = DevToolsClient(ip, port, timeout=5)
    before = {tab["id"] for tab in client.tabs()}
    target = client.open_tab("data:text/html,<title>T</title>x", load_timeout=10)
    assert client.evaluate(target, "document.readyState") == "complete"           # it waited for the load
    assert client.evaluate(target, "location.href") == "data:text/html,<title>T</title>x"
    assert {tab["id"] for tab in client.tabs()} == before | {target}
    with pytest.raises(DevToolsError, match="ReferenceError"):
        client.evaluate(target, "noSuchName.value")
    client.close_tab(target)
    assert {tab["id"] for tab in client.tabs()} == before


def test_devtools_client_says_what_is_wrong_when_chrome_is_not_there():
    client = DevToolsClient(fresh_ip_base(), chrome.PORT, timeout=1)
    with pytest.raises(DevToolsError, match="remote-debugging-port"):
        client.wait_until_listening(within=0.05, pause=0.01)


# --- steps and getters, on the simulated Chrome and on Chromium ---------------------------------------------
def test_open_tabs_replaces_the_start_tab_then_pages_and_close_tabs(browser, ctx):
    chrome_at, simulated = browser
    guest = chrome_guest(chrome_at, simulated)
    urls = ["data:text/html,<title>One</title>1", "data:text/html,<title>Two</title>2"]
    run_setup([{"type": "chrome_open_tabs", "parameters": {"urls_to_open": urls}}], guest, ctx)
    tabs = GETTERS["open_tabs_info"](guest, ctx, {})
    assert sorted(tab["url"] for tab in tabs) == urls                                # the start tab is gone
    page = GETTERS["page_info"](guest, ctx, {"url": urls[1]})
    assert page["url"] == urls[1] and "2" in page["content"]
    assert len(GETTERS["open_tabs_info"](guest, ctx, {})) == 2  # its own tab was closed again
    quick = TaskContext(task_id="c", cache_dir=ctx.cache_dir, step_timeout=1)
    run_setup([{"type": "chrome_close_tabs",
                "parameters": {"urls_to_close": [urls[0], "https://absent.org"]}}], guest, quick)
    assert [tab["url"] for tab in GETTERS["open_tabs_info"](guest, ctx, {})] == [urls[1]]


def test_chrome_steps_fail_with_the_step_named_when_chrome_is_absent(ctx):
    guest = chrome_guest((fresh_ip_base(), chrome.PORT))
    with pytest.raises(Exception, match=r"setup step 0 \(chrome_open_tabs\) failed: .*DevTools"):
        run_setup([{"type": "chrome_open_tabs", "parameters": {"urls_to_open": ["https://a.org"]}}],
                  guest, TaskContext(task_id="x", cache_dir=ctx.cache_dir, step_timeout=0.2))


def test_the_simulated_address_bar_shows_the_active_tab_as_chrome_elides_it(ctx):
    simulated, ip = chrome.Browser(), fresh_ip_base()
    chrome.serve(simulated, ip)
    guest = chrome_guest((ip, chrome.PORT), simulated)
    run_setup([{"type": "chrome_open_tabs", "parameters": {"urls_to_open": [
        "https://os-world.github.io/", "https://www.example.com/x?b=2"]}}], guest, ctx)
    assert active_url(guest, ctx, {"goto_prefix": "https://www."}) == "https://www.example.com/x?b=2"
    info = GETTERS["active_tab_info"](guest, ctx, {})
    # as the bar shows it
    assert info["url"] == "https://example.com/x?b=2" and "example.com" in info["content"]


def test_html_parse_reads_the_live_page_on_chromium(ctx, tmp_path):
    port = free_port()
    with running_chromium(port, tmp_path / "profile"):
        DevToolsClient("127.0.0.1", port, timeout=5).wait_until_listening(within=10, pause=0.25)
        tree = f'<r><application name="Google Chrome">{bar(PAGE)}</application></r>'
        guest = chrome_guest(("127.0.0.1", port), tree=tree)
        run_setup([{"type": "chrome_open_tabs", "parameters": {"urls_to_open": [PAGE]}}], guest, ctx)
        tab = guest.devtools(5).tabs()[0]["id"]
        assert guest.devtools(5).evaluate(tab, "document.getElementById('q').value = 'typed'") == "typed"

        def parse(**config):
            return GETTERS["active_tab_html_parse"](guest, ctx, {"goto_prefix": "", **config})
        assert parse(category="class", class_multiObject={"card": {"0": "first", "1": "second", "5": "none"}},
                     class_singleObject={"card": "single", "absent": "gone"},
                     class_multiObject_child={"route": {"0": "from", "1": "to"}},
                     class_multiObject_only_child={"hotel": {"0": "hotel"}},
                     class_multiObject_search_exist={"card": ["Beta", "Gamma", "is_other_exist"]}) == {
            "first": "Alpha one", "second": "Beta", "none": "", "single": "Alpha one", "gone": "",
            "from": "SEA", "to": "NYC", "hotel": "Inn", "Beta": True, "Gamma": False, "is_other_exist": True}
        assert parse(category="xpath", xpathObject={"//p[@id='p']": "p", "//nothing": "n"}) == {
            "p": "para", "n": ""}
        # live value
        assert parse(category="input", inputObject={"//input[@id='q']": "query"}) == {"query": "typed"}
        assert parse(category="class&url", class_multiObject_li={"cats": ["shoes", "hats"]},
                     url_include_expected=["FIXTURE", "absent"]) == {
            "shoes": True, "is_other_exist": False, "fixture": True, "absent": False}
        elsewhere = chrome_guest(("127.0.0.1", port), tree=f'<r><application name="Google Chrome">'
                                                          f'{bar("https://not.open/")}</application></r>')
        assert GETTERS["active_tab_html_parse"](elsewhere, ctx,
                                                {"category": "xpath", "xpathObject": {}}) == {}
    assert missing_capabilities({"evaluator": {"func": "exact_match", "result": {
        "type": "active_tab_html_parse", "category": "label"}}}) == [
        "getter 'active_tab_html_parse' category 'label' (not implemented)"]


# --- getters on fixtures ------------------------------------------------------------------------------------
def bar(text, focused=None):
    state = f' xmlns:st="uri:deskat:state.at-spi.gnome.org" st:focused="{focused}"' if focused else ""
    return f'<entry name="Address and search bar"{state}>{html.escape(text)}</entry>'


@pytest.mark.parametrize("entries, prefix, expected", [
    ([bar("drugs.com/npc/")], "https://www.", "https://www.drugs.com/npc/"),
    ([bar("www.drugs.com/")], "https://www.", "https://www.drugs.com/"),              # no doubled www.
    ([bar(" chrome://settings/ ")], "", "chrome://settings/"),
    ([bar("chrome://settings/")], "https://", "chrome://settings/"),                  # it has its own scheme
    ([bar("a.org", "true"), bar("b.org")], "https://", "https://a.org"),              # the focused bar wins
    ([bar("a.org"), bar("b.org"), bar("")], None, "https://b.org"),  # else the last with text
    ([bar("")], "https://", None),
    ([], "https://", None),
])
def test_active_url_from_the_address_bar(ctx, entries, prefix, expected):
    tree = f'<desktop-frame><application name="Google Chrome"><frame>{"".join(entries)}</frame>' \
           f'</application><application name="Firefox">{bar("other.org")}</application></desktop-frame>'
    config = {} if prefix is None else {"goto_prefix": prefix}
    assert active_url(chrome_guest(tree=tree), ctx, config) == expected
    assert active_url(chrome_guest(tree="<not xml"), ctx, config) is None


def test_url_parsing_getters(ctx):
    tree = f'<r><application name="Google Chrome">' \
           f'{bar("united.com/book?from=SFO&to=NYC+x&time=2024&c=a,b")}</application></r>'
    guest = chrome_guest(tree=tree)
    parsed = GETTERS["active_tab_url_parse"](guest, ctx, {"goto_prefix": "https://www.", "parse_keys": [
        "from", "to", "departing", "c"], "replace": {"departing": "when"}})
    assert parsed == {"from": "SFO", "to": "NYC x", "c": "a,b", "when": ""}
    assert list(parsed) == ["from", "to", "c", "when"]                                 # replaced keys go last
    split = GETTERS["active_tab_url_parse"](guest, ctx, {"parse_keys": ["c"], "split_list": True})
    assert split == {"c": ["a", "b"]}
    dash = {"goto_prefix": "https://www.", "partIndex": -1, "needDeleteId": True, "returnType": "json",
            "key": "k"}
    assert GETTERS["url_dashPart"](guest, ctx, dash) == {"k": "book"}
    assert GETTERS["url_dashPart"](guest, ctx, {**dash, "partIndex": 9}) is None


def test_preferences_getters_and_their_osworld_fallbacks(ctx):
    prefs = {"enable_do_not_track": True, "profile": {"name": "Thomas", "default_content_setting_values": {}},
             "safebrowsing": {"enhanced": False, "enabled": True}, "session": {"restore_on_startup": 5},
             "default_search_provider_data": {"template_url_data": {"short_name": "Bing"}},
             "extensions": {"settings": {"a": {"path": "/ext/a", "manifest": {"name": "Dark Reader"}}}},
             "webkit": {"webprefs": {"default_font_size": 20}}}
    guest = chrome_guest(files={f"{PROFILE}/Preferences": json.dumps(prefs).encode()})
    got = {name: GETTERS[name](guest, ctx, {}) for name in (
        "enable_do_not_track", "profile_name", "enable_safe_browsing", "new_startup_page",
        "data_delete_automacally", "default_search_engine", "find_unpacked_extension_path",
        "find_installed_extension_name", "chrome_font_size")}
    assert got == {"enable_do_not_track": "true", "profile_name": "Thomas", "enable_safe_browsing": "true",
                   "new_startup_page": "true", "data_delete_automacally": "true",
                   "default_search_engine": "Bing", "find_unpacked_extension_path": ["/ext/a"],
                   "find_installed_extension_name": ["Dark Reader"],
                   "chrome_font_size": {"default_font_size": 20}}
    empty = chrome_guest(files={f"{PROFILE}/Preferences": b"{}"})
    assert GETTERS["enable_do_not_track"](empty, ctx, {}) == "false"
    assert GETTERS["new_startup_page"](empty, ctx, {}) == "true"                     # no session key
    assert GETTERS["data_delete_automacally"](empty, ctx, {}) == "Google"            # OSWorld's error value
    assert GETTERS["chrome_font_size"](empty, ctx, {})["default_font_size"] == 16
    assert GETTERS["profile_name"](chrome_guest(), ctx, {}) is None                   # no file at all


def test_history_and_cookie_getters_read_the_profile_databases(ctx, tmp_path):
    database = tmp_path / "History"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE urls (url TEXT, title TEXT, last_visit_time INTEGER)")
        connection.execute("INSERT INTO urls VALUES ('https://youtube.com/watch', 'Rick', 1)")
    connection.close()
    guest = chrome_guest(files={f"{PROFILE}/History": database.read_bytes()})
    history = GETTERS["history"](guest, ctx, {"dest": "history.sqlite"})
    assert history == [("https://youtube.com/watch", "Rick", 1)]
    assert check_history_deleted(history, {"type": "keywords", "keywords": ["youtube"]}) == 0.0
    assert check_history_deleted([], {"type": "keywords", "keywords": ["youtube"]}) == 1.0
    assert GETTERS["cookie_data"](chrome_guest(), ctx, {"dest": "Cookies"}) is None


# --- metrics ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("first, second, equal", [
    ("https://www.google.com/", "https://google.co.uk", True),
    ("google.com/search?q=a", "http://www.google.com/search?q=a", True),
    ("https://google.com", "http://google.com", False),
    ("https://a.com/x/", "https://a.com/x", False),
    ("https://a.com/?q=1&r=2", "https://a.com/?r=2&q=1", False),
    (".amazon.com", "www.amazon.com", True),
    ("smile.amazon.com", "amazon.com", False),
    (None, None, True),
])
def test_compare_urls(first, second, equal):
    assert compare_urls(first, second) is equal


def test_tab_and_url_metrics():
    assert is_expected_active_tab({"url": "https://www.a.com/"},
                                  {"type": "url", "url": "https://a.com"}) == 1.0
    assert is_expected_active_tab("https://b.com", {"type": "url", "url": "https://a.com"}) == 0.0
    assert is_expected_active_tab(None, {"type": "url", "url": "https://a.com"}) == 0.0
    rule = {"type": "url", "url": "chrome://password-manager/passwords?x=1"}
    assert is_expected_active_tab_approximate("chrome://password-manager/passwords", rule) == 1.0
    assert is_expected_active_tab_approximate("chrome://password-manager/passwords/", rule) == 0.0
    assert is_expected_url_pattern_match({"url": "https://x.org/a?q=cat"},
                                         {"expected": [r"q=cat", r"x\.org"]}) == 1
    assert is_expected_url_pattern_match("https://x.org/a?q=dog", {"expected": [r"q=cat", r"x\.org"]}) == 0.0
    tabs = [{"url": "https://b.com"}, {"url": "https://www.a.com/"}]
    assert is_expected_tabs(tabs, {"type": "url", "urls": ["https://a.com", "https://b.com"]}) == 1.0
    assert is_expected_tabs(tabs, {"type": "url", "urls": ["https://a.com"]}) == 0.0
    assert is_expected_search_query({"url": "https://g.com/?q=news"},
                                    {"expect": {"pattern": "q=news"}}) == 1.0
    assert is_expected_search_query({"url": "https://g.com/"}, {"expect": {"pattern": "q=news"}}) == 0.0


def test_profile_metrics():
    bookmarks = {"bookmark_bar": {"children": [
        {"type": "folder", "name": "Liked Authors",
         "children": [{"type": "url", "url": "u1"}, {"type": "url", "url": "u3"}]},
        {"type": "url", "url": "https://x.org", "name": "x"}]}}
    assert is_expected_bookmarks(bookmarks,
                                 {"type": "bookmark_bar_folders_names", "names": ["Liked Authors"]}) == 1
    assert is_expected_bookmarks(bookmarks,
                                 {"type": "bookmark_bar_websites_urls", "urls": ["https://y.org"]}) == 0
    liked = {"type": "liked_authors_websites_urls", "names": ["Liked Authors"],
             "urls": [["u1", "u2"], ["u3"]]}
    assert is_expected_bookmarks(bookmarks, liked) == 1.0
    assert is_expected_bookmarks(bookmarks, {**liked, "urls": [["u2"], ["u3"]]}) == 0.0
    assert is_expected_bookmarks([], liked) == 0.0
    cookies = [(1, ".amazon.com"), (2, "smile.amazon.com")]
    assert is_cookie_deleted(cookies, {"type": "domains", "domains": ["amazon.com"]}) == 0.0
    assert is_cookie_deleted(cookies[1:], {"type": "domains", "domains": ["amazon.com"]}) == 1.0
    # strict
    assert check_font_size({"default_font_size": 16}, {"type": "range", "min": 16, "max": 99999}) == 0.0
    assert check_font_size({"default_font_size": 17}, {"type": "range", "min": 16, "max": 99999}) == 1.0
    shortcut = {"game.desktop": "[Desktop Entry]\nName=Play Puzzle Game 2048\nExec=x\n"}
    assert is_shortcut_on_desktop(shortcut, {"type": "name", "name": "Play Puzzle Game 2048"}) == 1.0
    assert is_shortcut_on_desktop(shortcut, {"type": "name", "name": "Play"}) == 0.0


# --- real task files ----------------------------------------------------------------------------------------
CHROME_METRICS = ("is_expected_active_tab", "is_expected_url_pattern_match", "is_expected_tabs",
                  "is_expected_bookmarks", "is_expected_search_query", "check_font_size", "is_cookie_deleted",
                  "is_shortcut_on_desktop", "is_expected_active_tab_approximate", "check_history_deleted")
STILL_MISSING = ("rule_relativeTime", "active_tab_html_parse", "url_path_parse")


def test_real_chrome_tasks_are_runnable_or_refused_for_a_named_piece():
    seen = 0
    for name, task, _evaluator in tasks_scored_by(*CHROME_METRICS):
        seen += 1
        missing = missing_capabilities(task)
        assert all(any(piece in gap for piece in STILL_MISSING) for gap in missing), (name, missing)
    assert seen == 19


def test_chrome_tasks_name_the_extra_when_it_is_missing(monkeypatch):
    task = {"config": [{"type": "chrome_open_tabs", "parameters": {"urls_to_open": ["https://a.org"]}}],
            "evaluator": {"func": "is_expected_tabs", "result": {"type": "open_tabs_info"},
                          "expected": {"type": "rule", "rules": {"type": "url", "urls": ["https://a.org"]}}}}
    assert missing_capabilities(task) == []
    monkeypatch.setitem(sys.modules, "websocket", None)                  # as if websocket-client were absent
    missing = missing_capabilities(task)
    assert missing == ["setup step 'chrome_open_tabs' (needs the chrome extra: pip install '.[chrome]')",
                       "getter 'open_tabs_info' (needs the chrome extra: pip install '.[chrome]')"]


def test_pdf_from_url_prints_the_page_with_chromium(ctx, tmp_path):
    port = free_port()
    with running_chromium(port, tmp_path / "profile"):
        DevToolsClient("127.0.0.1", port, timeout=5).wait_until_listening(within=10, pause=0.25)
        path = GETTERS["pdf_from_url"](chrome_guest(("127.0.0.1", port)), ctx, {
            "path": "data:text/html,<h1>Printed heading</h1>", "dest": "gold.pdf"})
    data = open(path, "rb").read()
    assert data.startswith(b"%PDF") and path.endswith("gold.pdf")
    fitz = pytest.importorskip("fitz", reason="the pdf extra is not installed")
    assert "Printed heading" in fitz.open(path)[0].get_text()
    assert GETTERS["pdf_from_url"](chrome_guest((fresh_ip_base(), chrome.PORT)), TaskContext(
        task_id="x", cache_dir=ctx.cache_dir, step_timeout=0.2),
        {"path": "https://a.org", "dest": "x.pdf"}) is None


def test_macys_url_path_parse(ctx):
    path = ("mens-clothing/mens-shirts/Men_regular_size_t,Price_discount_range,Sleeve_length/"
            "L,50_PERCENT_ off %26 more|30_PERCENT_ off %26 more,Short Sleeve")
    guest = chrome_guest(tree=f'<r><application name="Google Chrome">{bar("macys.com/shop/" + path)}'
                              '</application></r>')
    keys = ["mens_clothing", "shirts", "Men_regular_size_t", "Price_discount_range", "short_sleeve"]
    assert GETTERS["url_path_parse"](guest, ctx, {"goto_prefix": "https://www.", "parse_keys": keys}) == {
        "mens_clothing": True, "shirts": True, "short_sleeve": True, "Men_regular_size_t": "L",
        "Price_discount_range": "not_50_PERCENT_ off & more"}                   # 30% is chosen too
    only_half = path.replace("|30_PERCENT_ off %26 more", "").replace("Short Sleeve", "Long")
    guest.tree = guest.tree.replace(html.escape(path), html.escape(only_half))
    parsed = GETTERS["url_path_parse"](guest, ctx, {"parse_keys": keys})
    assert parsed["Price_discount_range"] == "50_PERCENT_ off & more" and parsed["short_sleeve"] is None
