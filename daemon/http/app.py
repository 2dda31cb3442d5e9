"""The Tornado application: routes and server settings."""
from __future__ import annotations

import time

import tornado.web

from . import auth, dashboard, handlers
from .access import AccessLog


def make_app(pool, settings, guard: auth.Guard, supervisor_view=None,
             observer=None) -> tornado.web.Application:
    if observer is None:
        from ..observe import Observer
        observer = Observer(pool, settings)
    shared = {"pool": pool, "settings": settings}
    env = {**shared, "observer": observer}
    routes = [
        (r"/env/reset", handlers.ResetHandler, env),
        (r"/env/step", handlers.StepHandler, env),
        (r"/env/evaluate", handlers.EvaluateHandler, env),
        (r"/env/history_messages", handlers.HistoryHandler, env),
        (r"/health", handlers.HealthHandler, {**shared, "started": time.monotonic(),
                                               "supervisor_view": supervisor_view}),
        *dashboard.routes(env),
    ]
    return auth.GuardedApplication(
        routes,
        default_handler_class=handlers.NotFoundHandler,
        default_handler_args=shared,
        compress_response=True,            # gzip only for clients that send Accept-Encoding: gzip
        guard=guard,
        log_function=AccessLog(observer.metrics, {handler: pattern for pattern, handler, *_ in routes}),
    )

