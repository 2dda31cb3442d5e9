"""OSWorld's active_tab_html_parse: texts and input values read from the live page of the active tab.

The tab is the one whose URL equals the address bar's (percent-decoded, trailing "/" ignored). The page is
queried in Chrome itself by one fixed JavaScript program (querySelectorAll, XPath, textContent, innerText,
input values, as Playwright reads them for OSWorld); a query that fails reads as nothing, as OSWorld's
"safely" helpers do. The answer is assembled by category (class, class&url, xpath, input) exactly as OSWorld
fills its dict, with "" for what was not found. Chrome unreachable: None; no tab with the URL: {}. The "label"
category (Playwright's text engine) is not reproduced: the capability check refuses it.
"""
from __future__ import annotations

import json
from urllib.parse import unquote

from ...guest.devtools import DevToolsError
from ..context import TaskContext
from ..steps.chrome import PAGE_LOAD_TIMEOUT, connect

# Each query is [kind, selector]; the answer is a list of strings per query ("texts"-like kinds) or a
# string/null.
PAGE_QUERIES = """(queries) => queries.map(([kind, selector]) => {
  const first = (xpath) => document.evaluate(xpath, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null)
                                   .singleNodeValue;
  try {
    switch (kind) {
      case "texts": return Array.from(document.querySelectorAll(selector), e => e.textContent.trim());
      case "direct_texts": {
        const element = document.querySelector(selector);
        return element ? Array.from(element.childNodes).filter(n => n.nodeType === Node.TEXT_NODE)
                                .map(n => n.textContent.trim()).filter(Boolean) : [];
      }
      case "h3_texts": return Array.from(document.querySelectorAll(selector)).map(e => e.querySelector("h3"))
                                   .filter(Boolean).map(h => h.textContent.trim());
      case "li_span_texts": return Array.from(document.querySelectorAll(selector + " li.catAllProducts"))
                                        .map(e => e.querySelector("span")).filter(Boolean)
                                        .map(s => s.innerText.trim());
      case "xpath_text": {
        const node = first(selector);
        return node ? (node.textContent || "").trim() : null;
      }
      case "input_value": {
        const node = first(selector);
        return node ? String(node.value ?? "").trim() : "";
      }
      case "url": return location.href;
    }
  } catch (error) { }
  return kind.endsWith("texts") ? [] : "";
})"""


def same_page(first: str, second: str) -> bool:
    return unquote(first).rstrip("/") == unquote(second).rstrip("/")


CATEGORIES = {"class", "class&url", "xpath", "input"}
SINGLE_QUERIES = {"xpath": ("xpath_text", "xpathObject"), "input": ("input_value", "inputObject")}


def config_gaps(config: dict) -> list[str]:
    category = config.get("category")
    return [] if category in CATEGORIES else [f"getter 'active_tab_html_parse' category {category!r} "
                                              "(not implemented)"]


def read_page(guest, ctx: TaskContext, config: dict, url: str) -> dict | None:
    """OSWorld's dict for config, read from the open tab showing url."""
    try:
        chrome = connect(guest, ctx)
        target = next((tab["id"] for tab in chrome.tabs() if same_page(tab["url"], url)), None)
        if target is None:
            return {}
        chrome.wait_loaded(target, min(PAGE_LOAD_TIMEOUT, ctx.step_timeout))
        queries = page_queries(config)
        answers = chrome.evaluate(target, f"({PAGE_QUERIES})({json.dumps(queries)})")
    except DevToolsError:
        return None
    return assemble(config, dict(zip(map(tuple, queries), answers)))


def page_queries(config: dict) -> list[list[str]]:
    """Every [kind, selector] the category reads, in a fixed order (the page answers them in one round
    trip)."""
    category = config["category"]
    if category == "class":
        kinds = {"class_multiObject": "texts", "class_multiObject_child": "direct_texts",
                 "class_multiObject_only_child": "h3_texts", "class_multiObject_search_exist": "texts",
                 "class_singleObject": "texts"}
        return [[kind, "." + name] for key, kind in kinds.items() for name in config.get(key, {})]
    if category == "class&url":
        return ([["texts", "." + name] for name in config.get("class_multiObject", {})] +
                [["li_span_texts", "." + name]
                 for name in config.get("class_multiObject_li", {})] + [["url", ""]])
    kind, option = SINGLE_QUERIES[category]
    return [[kind, selector] for selector in config.get(option, {})]


def assemble(config: dict, answers: dict) -> dict:
    category, result = config["category"], {}
    if category == "class":
        _indexed(result, config.get("class_multiObject", {}), answers, "texts")
        _indexed(result, config.get("class_multiObject_child", {}), answers, "direct_texts")
        _indexed(result, config.get("class_multiObject_only_child", {}), answers, "h3_texts")
        for name, wanted in config.get("class_multiObject_search_exist", {}).items():
            _search_exist(result, wanted, answers[("texts", "." + name)])
        for name, key in config.get("class_singleObject", {}).items():
            texts = answers[("texts", "." + name)]
            result[key] = texts[0] if texts else ""
    elif category == "class&url":
        for option, kind in (("class_multiObject", "texts"), ("class_multiObject_li", "li_span_texts")):
            for name, labels in config.get(option, {}).items():
                _labels_present(result, labels, answers[(kind, "." + name)])
        page_url = answers[("url", "")].lower()
        for key in config.get("url_include_expected", []):
            result.setdefault(key.lower(), key.lower() in page_url)
        for key, value in config.get("url_include_expected_multichoice", {}).items():
            result.setdefault(value.lower(), key.lower() in page_url)
    else:
        kind, option = SINGLE_QUERIES[category]
        for selector, key in config.get(option, {}).items():
            result[key] = answers[(kind, selector)] or ""
    return result


def _indexed(result: dict, objects: dict, answers: dict, kind: str) -> None:
    for name, keys in objects.items():
        texts = answers[(kind, "." + name)]
        for index, key in keys.items():
            result[key] = texts[int(index)] if int(index) < len(texts) else ""


def _search_exist(result: dict, wanted: list, texts: list) -> None:
    for label in wanted:
        if label != "is_other_exist":
            result[label] = label in texts
    if "is_other_exist" in wanted:
        result["is_other_exist"] = result.get("is_other_exist", False) or any(t not in wanted for t in texts)


def _labels_present(result: dict, labels: list, texts: list) -> None:
    """class&url: a label is True when a text equals it (any case); is_other_exist when a text matches no
    label."""
    for label in labels:
        if any(label.lower() == text.lower() for text in texts):
            result[label.lower()] = True
    if any(all(text.lower() not in label.lower() for label in labels) for text in texts):
        result["is_other_exist"] = True
    result.setdefault("is_other_exist", False)
