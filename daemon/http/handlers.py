"""Thin Tornado handlers: validate the request, hand it to the pool, write the worker's answer as it is.

A bad request gets a 4xx JSON error here and never reaches a worker, so it cannot change any env's state.
"""
from __future__ import annotations

import json
import time

import tornado.web

from .. import __version__
from ..errors import DaemonError, Reply, error_reply
from ..evaluation.admission import capability_gaps, shape_problems
from . import auth
from .body import BodyError, parse_json_object
from .status import read_tunnel_status

UNAUTHORIZED = ("this daemon needs its token: send 'Authorization: Bearer <token>' or put it in the URL "
                "(remote_server_url: http://HOST:PORT/t/<token>); on the daemon's machine "
                "'python -m daemon.ops token --config FILE' prints it")


@tornado.web.stream_request_body
class ApiHandler(tornado.web.RequestHandler):
    """Base of every route: the token first (401), then a declared over-size body (413, left unread), then the
    route. Bodies arrive in chunks and are kept up to server.max_body_bytes."""

    open_without_token = False          # GET /health answers a minimal body to anyone

    def initialize(self, pool, settings, observer=None):
        self.pool, self.config, self.observer = pool, settings, observer
        self.chunks: list[bytes] = []
        self.size = 0
        self.too_large = False
        self.authenticated = False

    @property
    def limit(self) -> int:
        return self.config.server["max_body_bytes"]

    def compute_etag(self) -> None:
        """No ETag: every answer is live state, and `If-None-Match: *` must not turn it into an empty 304."""
        return None

    def set_default_headers(self) -> None:
        answer = self.application.settings["guard"].proof_for(self.request)
        if answer is not None:
            self.set_header(auth.PROOF_HEADER, answer)

    def prepare(self):
        self.authenticated = self.application.settings["guard"].admits(self.request)
        if not self.authenticated and not (self.open_without_token and self.request.method == "GET"):
            self.send(error_reply(401, "unauthorized", UNAUTHORIZED))
            return
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limit:
            self.send(error_reply(413, "body_too_large", f"request body of {declared} bytes is over "
                                  f"{self.limit} (server.max_body_bytes)"))   # answered unread: it is dropped

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.too_large = True
            self.chunks.clear()
        elif not self.too_large:
            self.chunks.append(chunk)

    def send(self, reply: Reply) -> None:
        self.set_status(reply.status)
        self.set_header("Content-Type", "application/json")
        for name, value in reply.headers.items():
            self.set_header(name, value)
        self.finish(reply.body)

    def write_error(self, status_code: int, **kwargs) -> None:
        """Tornado's own refusals (405 …) and anything unexpected answer JSON too, never an HTML page."""
        code = "internal_error" if status_code >= 500 else "http_error"
        self.set_header("Content-Type", "application/json")
        self.finish(error_reply(status_code, code, f"{status_code} {self._reason}").body)


class EnvHandler(ApiHandler):
    """Base of the POST /env/* handlers: JSON object, env_idx, pool call."""

    operation = ""

    async def post(self):
        try:
            body = self.parse_body()
            env_idx = self.env_idx(body)
            args = self.arguments(body)
            timings = body.get("timings", False)          # true: the answer carries its time by part
            if not isinstance(timings, bool):
                raise DaemonError(400, "bad_request", f"'timings' must be true or false, got {timings!r}")
        except DaemonError as exc:
            self.send(exc.reply())
            return
        self.send(await self.observer.call(env_idx, self.operation, args, timings))

    def parse_body(self) -> dict:
        if self.too_large:
            raise DaemonError(413, "body_too_large",
                              f"request body over {self.limit} bytes (server.max_body_bytes)")
        try:
            return parse_json_object(b"".join(self.chunks), self.config.server["max_json_depth"])
        except BodyError as exc:
            raise DaemonError(400, "bad_request", str(exc)) from None

    def env_idx(self, body: dict) -> int:
        value = body.get("env_idx", 0)
        if not isinstance(value, int) or isinstance(value, bool):
            raise DaemonError(400, "bad_request", f"env_idx must be an integer, got {_brief(value)}")
        if not 0 <= value < len(self.pool):
            raise DaemonError(404, "unknown_env", f"env_idx {value} does not exist; this daemon has envs 0.."
                              f"{len(self.pool) - 1}")
        return value

    def arguments(self, body: dict) -> dict:
        return {}


def _optional(body: dict, key: str, kind, check=None, what: str = "") -> object:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) or (check and not check(value)):
        raise DaemonError(400, "bad_request", f"'{key}' must be {what}, got {_brief(value)}")
    return value


def _brief(value: object, limit: int = 60) -> str:
    """A value as an error message quotes it: short, so a huge field is not echoed back whole."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _check_size(what: str, size: int, limit: int, key: str) -> None:
    if size > limit:
        raise DaemonError(413, "too_large", f"'{what}' is {size} long, over the limit of {limit} ({key})")


class ResetHandler(EnvHandler):
    operation = "reset"

    def arguments(self, body: dict) -> dict:
        task = body.get("task_config")
        if not isinstance(task, dict):
            raise DaemonError(400, "bad_request",
                              "'task_config' (a JSON object: an OSWorld task) is required")
        _check_size("task_config", len(json.dumps(task)), self.config.server["max_task_config_bytes"],
                    "server.max_task_config_bytes")
        problems = shape_problems(task, self.config)
        if problems:
            raise DaemonError(400, "bad_request", "malformed task_config: " + "; ".join(problems))
        cap = self.config.episode["max_steps_cap"]
        args = {
            "task_config": task,
            "history": _optional(body, "history", str, lambda v: v in ("full", "delta"), "'full' or 'delta'"),
            "max_steps": _optional(body, "max_steps", int, lambda v: 1 <= v <= cap,
                                   f"an integer from 1 to {cap} (episode.max_steps_cap)"),
            "image_format": _optional(body, "image_format", str, lambda v: v in ("png", "jpeg"),
                                      "'png' or 'jpeg'"),
            "jpeg_quality": _optional(body, "jpeg_quality", int, lambda v: 1 <= v <= 100,
                                      "an integer 1..100"),
        }
        missing = capability_gaps(task, self.config)
        if missing:
            raise DaemonError(422, "task_not_runnable",
                              "this install cannot run the task: " + "; ".join(missing))
        return args


class StepHandler(EnvHandler):
    operation = "step"

    def arguments(self, body: dict) -> dict:
        if not isinstance(body.get("prediction"), str):
            raise DaemonError(400, "bad_request",
                              "'prediction' (the model's raw text) is required and must be a string")
        _check_size("prediction", len(body["prediction"]), self.config.server["max_prediction_chars"],
                    "server.max_prediction_chars")
        return {"prediction": body["prediction"],
                "episode_id": _optional(body, "episode_id", str, None, "a string"),
                "step_idx": _optional(body, "step_idx", int, lambda v: v >= 0, "an integer >= 0")}


class EvaluateHandler(EnvHandler):
    operation = "evaluate"


class HistoryHandler(EnvHandler):
    operation = "history"


class HealthHandler(ApiHandler):
    """Answers from memory only (no worker round trip), so it stays fast while every VM is busy. Without the
    token only {"status": "ok"}: the cluster's `curl .../health` works, and nothing about the envs leaks."""

    open_without_token = True

    def initialize(self, pool, settings, started: float, supervisor_view=None):
        super().initialize(pool, settings)
        self.started, self.supervisor_view = started, supervisor_view

    def get(self):
        self.set_header("Content-Type", "application/json")
        if not self.authenticated:
            self.finish(json.dumps({"status": "ok"}))
            return
        health = {"status": "shutting_down" if self.pool.draining else "ok", "provider": "vmware",
                  "simulated": self.config.simulator is not None, "version": __version__,
                  "uptime_seconds": round(time.monotonic() - self.started, 1), "envs": self.pool.health()}
        tunnel = read_tunnel_status(self.config.raw["tunnel_status_file"])
        if tunnel is not None:
            health["tunnel"] = tunnel
        supervisor = self.supervisor_view.snapshot() if self.supervisor_view is not None else None
        if supervisor is not None:
            health["supervisor"] = supervisor
        self.finish(json.dumps(health))


class NotFoundHandler(ApiHandler):
    def prepare(self):
        super().prepare()
        if not self._finished:
            self.send(error_reply(404, "not_found", f"no endpoint {self.request.method} {self.request.path}; "
                                  "see the README for the API"))
