"""OSWorld's Chrome setup steps: tabs through the guest's DevTools port, browsing history through the profile
file.

chrome_open_tabs: connect (waiting up to 30 s, within the step timeout), open each URL in a new foreground tab
and wait for its load (bounded; a page that does not load is left loading, as OSWorld does), and after the
first URL close the tab Chrome started with (with several, the first Chrome lists). The last URL opened is the
active tab. chrome_close_tabs: for each URL, close the first tab whose address equals it by compare_urls; no
match is no error. update_browse_history: OSWorld's template History database (downloaded once into the shared
cache, then copied, so a rerun never sees the rows of an earlier one) gets a urls and a visits row per item,
and replaces the guest's History.
"""
from __future__ import annotations

import datetime
import shutil
import sqlite3
import time

from ...guest.devtools import CONNECT_WAIT, DevToolsClient
from ..context import TaskContext
from ..formats.urls import URLS, compare_urls
from ..registry import Need, step

DEVTOOLS = Need("chrome", ("websocket",))   # the DevTools client's WebSocket
PAGE_LOAD_TIMEOUT = 60.0            # OSWorld's goto timeout
PROFILE = "/home/user/.config/google-chrome/Default"
HISTORY_TEMPLATE = (
    "https://drive.usercontent.google.com/u/0/uc?id=1Lv74QkJYDWVX0RIgg0Co-DUcoYpVL0oX&export=download")
CHROME_EPOCH = datetime.datetime(1601, 1, 1)
LINK_TRANSITION = 805306368         # the visit transition OSWorld records


def connect(guest, ctx: TaskContext) -> DevToolsClient:
    chrome = guest.devtools(timeout=min(30.0, ctx.step_timeout))
    chrome.wait_until_listening(within=min(CONNECT_WAIT, ctx.step_timeout))
    return chrome


@step(needs=(DEVTOOLS,))
def chrome_open_tabs(guest, ctx: TaskContext, params: dict) -> None:
    chrome = connect(guest, ctx)
    started_with = [tab["id"] for tab in chrome.tabs()]
    for index, url in enumerate(params["urls_to_open"]):
        opened = chrome.open_tab(url, load_timeout=min(PAGE_LOAD_TIMEOUT, ctx.step_timeout))
        if index == 0:                      # OSWorld closes its first page: the tab Chrome started with
            chrome.close_tab(started_with[0] if started_with else opened)


@step(needs=(DEVTOOLS, URLS))
def chrome_close_tabs(guest, ctx: TaskContext, params: dict) -> None:
    time.sleep(min(5.0, ctx.step_timeout))  # OSWorld pauses first: let the previous step's tabs settle
    chrome = connect(guest, ctx)
    for url in params["urls_to_close"]:
        match = next((tab for tab in chrome.tabs() if compare_urls(tab["url"], url)), None)
        if match:
            chrome.close_tab(match["id"])


@step()
def update_browse_history(guest, ctx: TaskContext, params: dict) -> None:
    database = ctx.task_dir / "history_new.sqlite"
    shutil.copyfile(ctx.fetch(HISTORY_TEMPLATE), database)
    now = datetime.datetime.now()                    # local time, as OSWorld computes it
    with sqlite3.connect(database) as connection:
        for item in params["history"]:
            visited = now - datetime.timedelta(seconds=item["visit_time_from_now_in_seconds"])
            stamp = int((visited - CHROME_EPOCH).total_seconds() * 1_000_000)
            row = connection.execute("INSERT INTO urls (url, title, visit_count, typed_count, "
                                     "last_visit_time, hidden)"
                                     " VALUES (?, ?, 1, 0, ?, 0)",
                                     (item["url"], item["title"], stamp)).lastrowid
            connection.execute("INSERT INTO visits (url, visit_time, from_visit, transition, segment_id, "
                               "visit_duration) VALUES (?, ?, 0, ?, 0, 0)", (row, stamp, LINK_TRANSITION))
    connection.close()
    guest.upload(f"{PROFILE}/History", database.read_bytes())
    guest.execute(f"sudo chown -R user:user {PROFILE}/History", True, timeout=ctx.step_timeout)
