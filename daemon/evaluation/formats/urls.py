"""OSWorld's URL equality (`compare_urls`), used by the Chrome metrics; tldextract comes with the `chrome`
extra.

Both URLs are normalised, then compared as strings: "http://" is added when there is no scheme, the scheme is
lower-cased, the host loses its public suffix (google.com equals google.co.uk) and a lone "www" subdomain, and
a root path "/" is dropped; query, fragment and other trailing slashes still count. The Public Suffix List is
tldextract's bundled snapshot: no network at scoring time.
"""
from __future__ import annotations

import functools
import re
from urllib.parse import urlparse, urlunparse

from ..registry import Need

URLS = Need("chrome", ("tldextract",))       # what compare_urls imports when it runs
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@functools.lru_cache(maxsize=1)
def _extractor():
    import tldextract  # optional: the chrome extra (URLS)
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def normalized(url: str) -> str:
    parts = urlparse(url if SCHEME.match(url) else "http://" + url)
    host = _extractor()(parts.netloc.lower())
    subdomain = "" if host.subdomain == "www" else host.subdomain
    netloc = ".".join(part for part in (subdomain, host.domain) if part)
    path = "" if parts.path == "/" else parts.path
    return urlunparse((parts.scheme.lower(), netloc, path, parts.params, parts.query, parts.fragment))


def compare_urls(first: str | None, second: str | None) -> bool:
    if first is None or second is None:
        return first == second
    return normalized(first) == normalized(second)
