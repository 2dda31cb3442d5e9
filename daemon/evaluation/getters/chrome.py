"""OSWorld's Chrome getters: the active URL from the accessibility tree, tabs through DevTools, profile files.

Fallbacks follow OSWorld's getters, since its metrics expect them: a URL getter that finds nothing returns
None; the Preferences getters return OSWorld's defaults (including its "Google" error value for some of them).
active_url_from_accessTree follows current OSWorld: among the address bars with text, the focused one (else
the last), stripped; a text with its own scheme is returned as it is, and "www." is not doubled by a "…www."
prefix.
"""
from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote, urlparse

from ...guest.client import GuestError
from ...guest.devtools import DevToolsError
from ..context import TaskContext
from ..registry import getter
from ..steps.chrome import DEVTOOLS, PAGE_LOAD_TIMEOUT, PROFILE, connect
from . import chrome_html

ADDRESS_BAR = ".//application[@name='Google Chrome']//entry[@name='Address and search bar']"
STATE_FOCUSED = "{uri:deskat:state.at-spi.gnome.org}focused"
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


# --- the active tab, read from the address bar --------------------------------------------------------------
def active_url(guest, ctx: TaskContext, config: dict) -> str | None:
    try:
        bars = [bar for bar in ET.fromstring(guest.accessibility()).iterfind(ADDRESS_BAR)
                if (bar.text or "").strip()]
    except (GuestError, ET.ParseError, TypeError):
        return None
    if not bars:
        return None
    focused = [bar for bar in bars if "true" in (bar.get("focused"), bar.get(STATE_FOCUSED))]
    text = (focused or bars)[-1].text.strip()
    if SCHEME.match(text):
        return text
    prefix = config.get("goto_prefix", "https://") or ""
    if prefix.lower().endswith("www.") and text.lower().startswith("www."):
        text = text[4:]
    return prefix + text


def _of_active_url(read):
    """A getter reading the active tab's URL: None when there is none, as OSWorld's getters answer."""
    def getter(guest, ctx: TaskContext, config: dict):
        url = active_url(guest, ctx, config)
        return None if url is None else read(guest, ctx, config, url)
    return getter


@_of_active_url
def active_tab_url_parse(guest, ctx: TaskContext, config: dict, url: str) -> dict:
    query = parse_qs(urlparse(url).query)
    values = {key: query.get(key, [""])[0] for key in config["parse_keys"]}
    for old, new in (config.get("replace") or {}).items():
        values[new] = values.pop(old)
    if config.get("split_list"):
        values = {key: value.split(",") for key, value in values.items()}
    return values


@_of_active_url
def url_dash_part(guest, ctx: TaskContext, config: dict, url: str):
    parts = url.split("/")
    index = int(config["partIndex"])
    if index >= len(parts) or index < -len(parts):
        return None
    part = parts[index].split("?")[0] if config.get("needDeleteId") else parts[index]
    return {"string": part, "json": {config.get("key"): part}}.get(config["returnType"])


@_of_active_url
def macys_filters(guest, ctx: TaskContext, config: dict, url: str) -> dict:
    """url_path_parse (OSWorld's Macy's product-list parser): flags from the path, and the filters of its
    first pair of comma-separated segments (names, then values); discounts reduce to whether only 50% off is
    chosen."""
    path = unquote(urlparse(url).path)
    filters = _path_filters(path.strip("/").split("/"))
    department = (filters.get("Product_department") or "").lower()
    sleeve = filters.get("Sleeve_length") or ""
    result = {"mens_clothing": True if "mens-clothing" in path else None,
              "shirts": True if "shirts" in path or department in ("shirts", "shirt") else None,
              "short_sleeve": True if "short-sleeve" in path
                              or sleeve.lower() in ("short-sleeve", "short sleeve") else None}
    filters.setdefault("Men_regular_size_t", None)
    filters.setdefault("Price_discount_range", None)
    for key in config.get("parse_keys", []):
        if key == "Price_discount_range":
            chosen = {choice.strip() for choice in (filters[key] or "").split("|")}
            only_half = "50_PERCENT_ off & more" in chosen and not {
                "30_PERCENT_ off & more", "20_PERCENT_ off & more"} & chosen
            result[key] = "50_PERCENT_ off & more" if only_half else "not_50_PERCENT_ off & more"
        elif key in filters:
            result[key] = filters[key]
    return result


def _path_filters(parts: list[str]) -> dict:
    for names, values in zip(parts, parts[1:]):
        if "," in names and "," in values:
            return {name.strip(): value.strip() or None
                    for name, value in zip(names.split(","), values.split(","))}
    return {}


# --- pages through DevTools ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _own_tab(guest, ctx: TaskContext, url: str):
    """(chrome, tab) with url loaded in a tab of its own, closed afterwards (OSWorld reloads pages apart from
    the user's tab)."""
    chrome = connect(guest, ctx)
    target = chrome.open_tab(url, load_timeout=min(PAGE_LOAD_TIMEOUT, ctx.step_timeout))
    try:
        yield chrome, target
    finally:
        chrome.close_tab(target)


def _page(guest, ctx: TaskContext, url: str) -> dict | None:
    """{title, url, content} of url, or None when Chrome cannot be reached."""
    try:
        with _own_tab(guest, ctx, url) as (chrome, target):
            return {"title": chrome.evaluate(target, "document.title"),
                    "url": chrome.evaluate(target, "location.href"),
                    "content": chrome.evaluate(target, "document.documentElement.outerHTML")}
    except DevToolsError:
        return None


def pdf_from_url(guest, ctx: TaskContext, config: dict) -> str | None:
    """The page at config["path"] printed to PDF by the guest's Chrome, saved in the task cache as
    config["dest"]."""
    try:
        with _own_tab(guest, ctx, config["path"]) as (chrome, target):
            pdf = chrome.print_pdf(target)
    except DevToolsError:
        return None
    return str(ctx.save(config["dest"], pdf))


def page_info(guest, ctx: TaskContext, config: dict) -> dict:
    return _page(guest, ctx, config["url"]) or {"title": "Connection failed", "url": config["url"],
                                                "content": ""}


def open_tabs_info(guest, ctx: TaskContext, config: dict) -> list[dict]:
    try:
        return [{"title": tab["title"], "url": tab["url"]} for tab in connect(guest, ctx).tabs()]
    except DevToolsError:
        return []


# --- profile files ------------------------------------------------------------------------------------------
def _preferences(guest) -> dict:
    data = guest.get_file(f"{PROFILE}/Preferences")
    if data is None:
        raise ValueError("no Preferences file")
    return json.loads(data)


def _from_preferences(read, fallback):
    def getter(guest, ctx: TaskContext, config: dict):
        try:
            return read(_preferences(guest))
        except (ValueError, KeyError, TypeError, AttributeError, GuestError):
            return fallback
    return getter


def _flag(value) -> str:
    return "true" if value else "false"


def _sqlite_rows(guest, ctx: TaskContext, config: dict, profile_file: str, query: str) -> list | None:
    data = guest.get_file(f"{PROFILE}/{profile_file}")
    if data is None:
        return None
    target = ctx.save(config["dest"], data)
    try:
        with sqlite3.connect(target) as connection:
            return connection.execute(query).fetchall()
    except sqlite3.Error:
        return None


def bookmarks(guest, ctx: TaskContext, config: dict):
    data = guest.get_file(f"{PROFILE}/Bookmarks")
    return json.loads(data).get("roots", {}) if data else []


def shortcuts_on_desktop(guest, ctx: TaskContext, config: dict) -> dict:
    tree = guest.list_directory("/home/user/Desktop") or {}
    names = [entry["name"] for entry in tree.get("children", []) if entry["name"].endswith(".desktop")]
    return {name: (guest.get_file(f"/home/user/Desktop/{name}") or b"").decode("utf-8") for name in names}


DEFAULT_FONT_SIZES = {"default_fixed_font_size": 13, "default_font_size": 16}

getter("active_url_from_accessTree")(active_url)
getter("active_tab_url_parse")(active_tab_url_parse)
getter("url_dashPart")(url_dash_part)
getter("url_path_parse")(macys_filters)
getter("active_tab_info", needs=(DEVTOOLS,))(
    _of_active_url(lambda guest, ctx, config, url: _page(guest, ctx, url)))
getter("active_tab_html_parse", needs=(DEVTOOLS,), check=chrome_html.config_gaps)(
    _of_active_url(chrome_html.read_page))
getter("page_info", needs=(DEVTOOLS,))(page_info)
getter("pdf_from_url", needs=(DEVTOOLS,))(pdf_from_url)
getter("open_tabs_info", needs=(DEVTOOLS,))(open_tabs_info)
getter("default_search_engine")(_from_preferences(
    lambda p: p.get("default_search_provider_data", {}).get("template_url_data", {})
                .get("short_name", "Google"),
    "Google"))
getter("profile_name")(_from_preferences(lambda p: p.get("profile", {}).get("name"), None))
getter("enable_do_not_track")(_from_preferences(lambda p: _flag(p.get("enable_do_not_track")), "false"))
getter("enable_safe_browsing")(_from_preferences(
    lambda p: _flag(p.get("safebrowsing", {}).get("enhanced") or p.get("safebrowsing", {}).get("enabled")),
    "false"))
getter("new_startup_page")(_from_preferences(
    lambda p: _flag("session" not in p or p["session"].get("restore_on_startup") == 5), "Google"))
getter("data_delete_automacally")(_from_preferences(
    lambda p: _flag(p["profile"].get("default_content_setting_values") is not None), "Google"))
getter("find_unpacked_extension_path")(_from_preferences(
    lambda p: [setting["path"] for setting in p["extensions"]["settings"].values()], "Google"))
getter("find_installed_extension_name")(_from_preferences(
    lambda p: [setting["manifest"]["name"] for setting in p["extensions"]["settings"].values()], "Google"))
getter("chrome_font_size")(_from_preferences(
    lambda p: p.get("webkit", {}).get("webprefs", {**DEFAULT_FONT_SIZES, "minimum_font_size": 13}),
    DEFAULT_FONT_SIZES))
getter("bookmarks")(bookmarks)
getter("history")(lambda guest, ctx, config: _sqlite_rows(guest, ctx, config, "History",
                                                          "SELECT url, title, last_visit_time FROM urls"))
getter("cookie_data")(lambda guest, ctx, config: _sqlite_rows(guest, ctx, config, "Cookies",
                                                              "SELECT * FROM cookies"))
getter("shortcuts_on_desktop")(shortcuts_on_desktop)
