"""The Tornado application: routes and server settings."""
from __future__ import annotations

import time

import tornado.web

from . import auth, handlers


def make_app(pool, settings, guard: auth.Guard, supervisor_view=None) -> tornado.web.Application:
    shared = {"pool": pool, "settings": settings}
    return auth.GuardedApplication(
        [
            (r"/env/reset", handlers.ResetHandler, shared),
            (r"/env/step", handlers.StepHandler, shared),
            (r"/env/evaluate", handlers.EvaluateHandler, shared),
            (r"/env/history_messages", handlers.HistoryHandler, shared),
            (r"/health", handlers.HealthHandler, {**shared, "started": time.monotonic(),
                                                   "supervisor_view": supervisor_view}),
        ],
        default_handler_class=handlers.NotFoundHandler,
        default_handler_args=shared,
        compress_response=True,            # gzip only for clients that send Accept-Encoding: gzip
        guard=guard,
        log_function=auth.log_request,
    )

