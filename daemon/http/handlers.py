"""Thin Tornado handlers: validate the request, hand it to the pool, write the worker's answer as it is.

A bad request gets a 4xx JSON error here and never reaches a worker, so it cannot change any env's state.
"""
from __future__ import annotations

import json
import time

import tornado.web

from .. import __version__
from ..evaluation import missing_capabilities, shape_problems
from ..pool import Reply, error_reply
from .status import read_tunnel_status


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@tornado.web.stream_request_body
class EnvHandler(tornado.web.RequestHandler):
    """Base of the POST /env/* handlers: bounded body, JSON object, env_idx, pool call."""

    operation = ""

    def initialize(self, pool, settings):
        self.pool, self.config = pool, settings
        self.chunks: list[bytes] = []
        self.size = 0
        self.too_large = False

    @property
    def limit(self) -> int:
        return self.config.server["max_body_bytes"]

    def prepare(self):
        declared = self.request.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.limit:
            self.too_large = True
            self.request.connection.set_max_body_size(int(declared))   # read and drop it, then answer 413

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.too_large = True
            self.chunks.clear()
        elif not self.too_large:
            self.chunks.append(chunk)

    async def post(self):
        try:
            body = self.parse_body()
            env_idx = self.env_idx(body)
            args = self.arguments(body)
        except ApiError as exc:
            self.send(error_reply(exc.status, exc.code, exc.message))
            return
        self.send(await self.pool.call(env_idx, self.operation, args))

    def parse_body(self) -> dict:
        if self.too_large:
            raise ApiError(413, "body_too_large", f"request body over {self.limit} bytes (server.max_body_bytes)")
        raw = b"".join(self.chunks)
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ApiError(400, "bad_request", f"body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "body must be a JSON object")
        return body

    def env_idx(self, body: dict) -> int:
        value = body.get("env_idx", 0)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ApiError(400, "bad_request", f"env_idx must be an integer, got {value!r}")
        if not 0 <= value < len(self.pool):
            raise ApiError(404, "unknown_env", f"env_idx {value} does not exist; this daemon has envs 0.."
                           f"{len(self.pool) - 1}")
        return value

    def arguments(self, body: dict) -> dict:
        return {}

    def send(self, reply: Reply) -> None:
        self.set_status(reply.status)
        self.set_header("Content-Type", "application/json")
        for name, value in reply.headers.items():
            self.set_header(name, value)
        self.finish(reply.body)


def _optional(body: dict, key: str, kind, check=None, what: str = "") -> object:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) or (check and not check(value)):
        raise ApiError(400, "bad_request", f"'{key}' must be {what}, got {value!r}")
    return value


class ResetHandler(EnvHandler):
    operation = "reset"

    def arguments(self, body: dict) -> dict:
        task = body.get("task_config")
        if not isinstance(task, dict):
            raise ApiError(400, "bad_request", "'task_config' (a JSON object: an OSWorld task) is required")
        problems = shape_problems(task, self.config)
        if problems:
            raise ApiError(400, "bad_request", "malformed task_config: " + "; ".join(problems))
        args = {
            "task_config": task,
            "history": _optional(body, "history", str, lambda v: v in ("full", "delta"), "'full' or 'delta'"),
            "max_steps": _optional(body, "max_steps", int, lambda v: v >= 1, "an integer >= 1"),
            "image_format": _optional(body, "image_format", str, lambda v: v in ("png", "jpeg"), "'png' or 'jpeg'"),
            "jpeg_quality": _optional(body, "jpeg_quality", int, lambda v: 1 <= v <= 100, "an integer 1..100"),
        }
        missing = missing_capabilities(task, self.config)
        if missing:
            raise ApiError(422, "task_not_runnable", "this install cannot run the task: " + "; ".join(missing))
        return args


class StepHandler(EnvHandler):
    operation = "step"

    def arguments(self, body: dict) -> dict:
        if not isinstance(body.get("prediction"), str):
            raise ApiError(400, "bad_request", "'prediction' (the model's raw text) is required and must be a string")
        return {"prediction": body["prediction"],
                "episode_id": _optional(body, "episode_id", str, None, "a string"),
                "step_idx": _optional(body, "step_idx", int, lambda v: v >= 0, "an integer >= 0")}


class EvaluateHandler(EnvHandler):
    operation = "evaluate"


class HistoryHandler(EnvHandler):
    operation = "history"


class HealthHandler(tornado.web.RequestHandler):
    """Answers from memory only (no worker round trip), so it stays fast while every VM is busy."""

    def initialize(self, pool, settings, started: float, supervisor_view=None):
        self.pool, self.config, self.started, self.supervisor_view = pool, settings, started, supervisor_view

    def get(self):
        health = {"status": "shutting_down" if self.pool.draining else "ok", "provider": "vmware",
                  "simulated": self.config.simulator is not None, "version": __version__,
                  "uptime_seconds": round(time.monotonic() - self.started, 1), "envs": self.pool.health()}
        tunnel = read_tunnel_status(self.config.raw["tunnel_status_file"])
        if tunnel is not None:
            health["tunnel"] = tunnel
        supervisor = self.supervisor_view.snapshot() if self.supervisor_view is not None else None
        if supervisor is not None:
            health["supervisor"] = supervisor
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(health))


class NotFoundHandler(tornado.web.RequestHandler):
    def prepare(self):
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": {"code": "not_found", "message": f"no endpoint {self.request.method} "
                                          f"{self.request.path}; see the README for the API"}}))

    def write_error(self, status_code: int, **kwargs) -> None:
        self.finish(json.dumps({"error": {"code": "http_error", "message": self._reason}}))
