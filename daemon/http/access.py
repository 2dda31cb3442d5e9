"""Tornado's log_function: the access line (auth.log_request, token redacted) and the request counter."""
from __future__ import annotations

from . import auth


class AccessLog:
    def __init__(self, metrics, route_names: dict):
        self.metrics, self.route_names = metrics, route_names

    def __call__(self, handler) -> None:
        auth.log_request(handler)
        route = self.route_names.get(type(handler), "other")
        self.metrics.requests.labels(route, str(handler.get_status())).inc()
