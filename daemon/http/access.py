"""Tornado's log_function: one access line per request (the token redacted) and the request counter."""
from __future__ import annotations

import logging
import re

access_log = logging.getLogger("tornado.access")
TOKEN_IN_PATH = re.compile(r"^/t/[^/?]*")


def redacted(uri: str) -> str:
    """The request URI as it may appear in a log: a `/t/<token>/` prefix never does."""
    return TOKEN_IN_PATH.sub("/t/<token>", uri)


class AccessLog:
    def __init__(self, metrics, route_names: dict):
        self.metrics, self.route_names = metrics, route_names

    def __call__(self, handler) -> None:
        status = handler.get_status()
        route = self.route_names.get(type(handler), "other")
        self.metrics.requests.labels(route, str(status)).inc()
        level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
        if access_log.isEnabledFor(level):
            request = handler.request
            access_log.log(level, "%d %s %s (%s) %.1fms", status, request.method, redacted(request.uri),
                           request.remote_ip, 1000.0 * request.request_time())
