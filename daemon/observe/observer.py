"""The daemon's view of every env operation:
metrics, the live state the dashboard shows, trajectory recording.

Handlers call `Observer.call` instead of the pool directly. It forwards to the pool, then reads the worker's
report (timings, what the step did) that came back with the reply; screenshots arrive raw after their answers,
through `on_frame`. Nothing here does I/O on the answer's path: recording goes to the trajectory writer's
queue, metrics are in-memory counters.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import itertools
import json
import time

from ..errors import Reply
from ..logs import env_logger
from ..trajectories.store import action_line, frame_name
from .metrics import Metrics

STEP_FIELDS = ("history_text", "actions", "code", "format_reward", "warnings", "error", "terminal", "done")
# 5xx codes after which the episode cannot go on (its VM is being recovered or its worker is gone). Any other
# 5xx (guest_failed, evaluation_failed, ...) changed nothing in the episode: the client may retry, so it stays
# recorded.
EPISODE_ENDING = {"guest_lost", "episode_lost", "worker_died", "worker_timeout", "env_recovering",
                  "shutting_down", "worker_error", "internal_error"}
RECENT_EPISODES = 5000                  # finished episodes kept for the dashboard's rates and score histogram


@dataclasses.dataclass
class LiveEnv:
    """What the dashboard shows for one env's episode."""
    episode_id: str | None = None
    task_id: str | None = None
    instruction: str | None = None
    step: int = 0
    max_steps: int = 0
    last_action: str | None = None
    last_error: str | None = None
    format_error: bool = False
    recovered: bool = False             # its env was recovered mid-episode
    image_format: str = "png"
    open: bool = False                  # an episode started and not yet closed with an outcome
    errors: list[str] = dataclasses.field(default_factory=list)


class Observer:
    def __init__(self, pool, settings, writer=None):
        self.pool, self.settings, self.writer = pool, settings, writer
        self.metrics = Metrics(pool, settings.raw["tunnel_status_file"])
        self.live = [LiveEnv() for _ in range(len(pool))]
        # a new number per frame: the dashboard reloads on change
        self.frame_numbers = itertools.count(1)
        self.frames: list[tuple[bytes, str, int] | None] = [None] * len(pool)  # image, format, number per env
        self.finished: collections.deque = collections.deque(maxlen=RECENT_EPISODES)  # (time, outcome, score)
        self.finished_count = 0             # all time: the dashboard refreshes its episode list when it grows
        pool.on_recovery, pool.on_frame = self.on_recovery, self.on_frame
        if writer is not None:
            writer.on_drop = self.metrics.trajectory_drops.inc

    async def call(self, env_idx: int, op: str, args: dict, want_timings: bool = False) -> Reply:
        sent = time.time()
        reply = await self.pool.call(env_idx, op, args)
        try:
            timings = self._observe(env_idx, op, args, reply, sent)
        except Exception:                          # noqa: BLE001  (observing never costs the trainer its answer)
            env_logger("daemon.observe", env_idx).exception("observing %s failed; answer sent unchanged", op)
            return reply
        if want_timings and timings and reply.body[:1] == b"{" and reply.body[-1:] == b"}":
            extra = b', "timings": ' + json.dumps(timings).encode() + b"}"
            reply = dataclasses.replace(reply, body=reply.body[:-1] + extra)
        return reply

    def _observe(self, env_idx: int, op: str, args: dict, reply: Reply, sent: float) -> dict | None:
        timings = self._timings(reply.report, sent)
        self.metrics.response_bytes.labels(f"/env/{_route(op)}").inc(len(reply.body))
        handler = getattr(self, f"_after_{op}", None)
        if handler is not None:
            handler(env_idx, args, reply, timings)
        return timings

    # --- after each operation -------------------------------------------------------------------------------
    def _after_reset(self, env_idx: int, args: dict, reply: Reply, timings: dict | None) -> None:
        live = self.live[env_idx]
        if 400 <= reply.status < 500:       # refused (e.g. 409 env_busy): the running episode goes on
            return
        if live.open:
            self._close(env_idx, "env_error" if live.recovered else "abandoned")
        if reply.status >= 500:
            self._count_episode("reset_failed")
            live.last_error = _error_message(reply)
            return
        report = reply.report or {}
        if reply.status != 200 or "episode_id" not in report:
            return
        if timings:
            self.metrics.reset.labels(str(bool(report.get("warm"))).lower()).observe(timings["total"])
        task = args["task_config"]
        self.live[env_idx] = live = LiveEnv(
            episode_id=report["episode_id"], task_id=str(task.get("id", "")),
            instruction=str(task.get("instruction", "")),
            max_steps=args.get("max_steps") or self.settings.episode["max_steps"], open=True,
            image_format=report.get("image_format") or "png")
        if self.writer is not None:
            self.writer.start_episode(self._episode_meta(env_idx, live, task, report, timings))

    def _after_step(self, env_idx: int, args: dict, reply: Reply, timings: dict | None) -> None:
        live = self.live[env_idx]
        report = reply.report or {}
        if reply.status >= 500:
            self._fail(env_idx, reply)
            return
        if reply.status != 200 or report.get("retried") or "step_idx" not in report:
            return
        if timings:
            self.metrics.observe_step(env_idx, timings)
        live.step = report["step_idx"]
        live.last_action = action_line(report.get("history_text") or "")[:300]
        live.format_error = live.format_error or not report.get("ok", True)
        live.last_error = report.get("error") or live.last_error
        if self.writer is not None and live.open:
            step = {"step": live.step, "prediction": args["prediction"],
                    **{key: report.get(key) for key in STEP_FIELDS}, "timings": timings}
            if report.get("frame"):
                step["frame"] = frame_name(live.step, live.image_format)
            self.writer.add_step(live.episode_id, step)

    def _after_evaluate(self, env_idx: int, args: dict, reply: Reply, timings: dict | None) -> None:
        live = self.live[env_idx]
        if reply.status >= 500:
            self._fail(env_idx, reply)
            return
        if reply.status != 200 or not live.open:
            return
        if timings:
            self.metrics.evaluate.observe(timings["total"])
        try:
            score = float(reply.body)
        except ValueError:
            return
        self._close(env_idx, "format_error" if live.format_error else "scored", score)

    def _fail(self, env_idx: int, reply: Reply) -> None:
        live = self.live[env_idx]
        live.last_error = _error_message(reply)
        live.errors.append(live.last_error)
        if live.open and live.last_error.split(":", 1)[0] in EPISODE_ENDING | {f"HTTP {reply.status}"}:
            self._close(env_idx, "env_error")

    def _close(self, env_idx: int, outcome: str, score: float | None = None) -> None:
        live = self.live[env_idx]
        live.open = False
        self._count_episode(outcome, score)
        if self.writer is not None:
            self.writer.end_episode(live.episode_id, {"ended": time.time(), "outcome": outcome,
                                                      "score": score, "steps": live.step,
                                                      "errors": live.errors})

    def _count_episode(self, outcome: str, score: float | None = None) -> None:
        self.metrics.episodes.labels(outcome).inc()
        self.finished.append((time.time(), outcome, score))
        self.finished_count += 1

    def on_recovery(self, env_idx: int, cause: str) -> None:
        """An env's recovery starts. A failed reply closes its episode (with that reply's error) when it is
        observed; an episode whose env was recovered without one ends as env_error at the next reset."""
        self.metrics.recoveries.labels(str(env_idx), cause).inc()
        live = self.live[env_idx]
        if live.open:
            live.recovered = True
            live.errors.append(f"the env was recovered ({cause})")

    # --- helpers --------------------------------------------------------------------------------------------
    @staticmethod
    def _timings(report: dict | None, sent: float) -> dict | None:
        if not report:
            return None
        timings = {"queue": max(0.0, report["started"] - sent)}
        timings.update(report.get("parts") or {})
        timings["total"] = time.time() - sent
        return {part: round(seconds, 6) for part, seconds in timings.items()}

    def on_frame(self, env_idx: int, header: dict, image: bytes) -> None:
        """A screenshot, raw, sent by the worker after the answer that carried it (possibly before that answer
        is observed here): the env's latest for the dashboard, and a frame of its episode's recording."""
        try:
            self.frames[env_idx] = (image, header["image_format"], next(self.frame_numbers))
            if self.writer is not None:
                self.writer.add_frame(header["episode_id"], header["index"], image, header["image_format"])
        except (KeyError, TypeError, ValueError) as exc:      # a bad frame must not stop the worker's replies
            env_logger("daemon.observe", env_idx).error(
                "screenshot frame not usable (%r); not shown or recorded", exc)

    def _episode_meta(self, env_idx: int, live: LiveEnv, task: dict, report: dict,
                      timings: dict | None) -> dict:
        canonical = json.dumps(task, sort_keys=True, separators=(",", ":")).encode()
        options = self.settings.episode
        return {"episode_id": live.episode_id, "task_id": live.task_id, "instruction": live.instruction,
                "task_config_sha256": hashlib.sha256(canonical).hexdigest(), "env_idx": env_idx,
                "vm": self.settings.envs[env_idx]["vmx"], "started": time.time(), "ended": None,
                "score": None, "outcome": "running", "errors": [], "max_steps": live.max_steps,
                "warm_reset": bool(report.get("warm")), "image_format": live.image_format,
                "screen": [options["screen_width"], options["screen_height"]],
                "prompt": self.settings.prompt_template.replace("{instruction}", live.instruction),
                "reset_timings": timings}

    # --- the dashboard's view -------------------------------------------------------------------------------
    def dashboard_state(self) -> dict:
        envs = []
        for health, live, frame in zip(self.pool.health(), self.live, self.frames):
            envs.append({**health, "task_id": live.task_id, "instruction": live.instruction,
                         "step": live.step, "max_steps": live.max_steps, "last_action": live.last_action,
                         "last_error": live.last_error or health.get("last_error"),
                         "frame_seq": frame[2] if frame else 0,
                         "recording_episode": live.episode_id if live.open else None})
        return {"envs": envs, **self._episode_stats()}

    def _episode_stats(self) -> dict:
        now = time.time()
        hourly = [0] * 24
        outcomes: dict[str, int] = collections.Counter()
        scores = [0] * 10
        for when, outcome, score in self.finished:
            age = int((now - when) // 3600)
            if age < 24:
                hourly[23 - age] += 1
            outcomes[outcome] += 1
            if score is not None:
                scores[min(9, max(0, int(score * 10)))] += 1
        return {"episodes_last_hour": hourly[-1], "episodes_per_hour": hourly, "outcomes": dict(outcomes),
                "score_histogram": scores, "episodes_finished": self.finished_count}

    def latest_frame(self, env_idx: int) -> tuple[bytes, str, int] | None:
        """The env's last screenshot, its format and its frame number."""
        return self.frames[env_idx]


def _route(op: str) -> str:
    return "history_messages" if op == "history" else op


def _error_message(reply: Reply) -> str:
    try:
        error = json.loads(reply.body)["error"]
        return f"{error['code']}: {error['message']}"[:500]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {reply.status}"
