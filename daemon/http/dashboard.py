"""GET /metrics and the dashboard: its pages, assets and JSON, all read-only and answered from memory or the
trajectories folder (file reads off the event loop). Names from the URL are checked before they touch a path.

Every route needs the token like any other (ApiHandler.prepare). A browser logs in once at
`/t/<token>/dashboard`: that sets the HttpOnly cookie and redirects to `/dashboard`: the token is in no link,
page or later request line.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import tornado.web
from prometheus_client import CONTENT_TYPE_LATEST

from ..errors import error_reply
from ..trajectories import find_episode, list_episodes, read_steps
from ..trajectories.store import EPISODE_FILE, first_frame, frame_path, read_json
from . import auth
from .handlers import UNAUTHORIZED, ApiHandler
from .status import read_tunnel_status

ASSETS = Path(__file__).resolve().parents[1] / "dashboard"
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ObserveHandler(ApiHandler):
    """Base of the read-only observation routes."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)
        self.set_header("Cache-Control", "no-store")

    @property
    def trajectories(self) -> Path:
        return Path(self.config.raw["trajectories"]["dir"])

    def send_json(self, value) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(value))

    def not_found(self, what: str) -> None:
        self.send(error_reply(404, "not_found", what))

    async def off_loop(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)


class MetricsHandler(ObserveHandler):
    def get(self):
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(self.observer.metrics.text())


class PageHandler(ObserveHandler):
    """The dashboard's HTML pages (the episode page reads its id from the URL in the browser)."""

    def initialize(self, pool, settings, observer, page: str):
        super().initialize(pool, settings, observer)
        self.page = page

    def get(self, *ignored):
        if getattr(self.request, "path_token", None) is not None:   # /t/<token>/dashboard: log in, then leave
            auth.set_token_cookie(self, self.application.settings["guard"].token)
            self.redirect(self.request.path)
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish((ASSETS / self.page).read_bytes())


class AssetHandler(tornado.web.StaticFileHandler):
    """The dashboard's CSS and JS, from the package (no build step, no CDN); the token (cookie) first."""

    def prepare(self):
        if not self.application.settings["guard"].admits(self.request):
            self.set_status(401)
            self.set_header("Content-Type", "application/json")
            self.finish(error_reply(401, "unauthorized", UNAUTHORIZED).body)

    def set_extra_headers(self, path: str) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)


class StateHandler(ObserveHandler):
    def get(self):
        state = self.observer.dashboard_state()
        state["tunnel"] = read_tunnel_status(self.config.raw["tunnel_status_file"])
        state["draining"] = self.observer.pool.draining
        self.send_json(state)


class LiveFrameHandler(ObserveHandler):
    """The latest screenshot an env's trainer was sent, from memory."""

    def get(self, env_idx: str):
        index = int(env_idx)
        frame = self.observer.latest_frame(index) if index < len(self.observer.live) else None
        if frame is None:
            self.not_found(f"env {index} has sent no screenshot yet")
            return
        image, image_format, _ = frame
        self.set_header("Content-Type", CONTENT_TYPES.get(image_format, "image/png"))
        self.finish(image)


class EpisodesHandler(ObserveHandler):
    async def get(self):
        limit = self.get_query_argument("limit", "50")
        limit = min(500, int(limit)) if limit.isdigit() else 50
        self.send_json({"episodes": await self.off_loop(list_episodes, self.trajectories, limit)})


class EpisodeHandler(ObserveHandler):
    async def get(self, episode_id: str):
        folder = await self.off_loop(find_episode, self.trajectories, episode_id)
        if folder is None:
            self.not_found(f"no recorded episode {episode_id}")
            return
        meta = await self.off_loop(read_json, folder / EPISODE_FILE)
        steps = await self.off_loop(read_steps, folder)
        first = await self.off_loop(first_frame, folder)
        self.send_json({"episode": meta, "steps": steps,
                        "first_frame": f"frames/{first.name}" if first else None})


class EpisodeFrameHandler(ObserveHandler):
    async def get(self, episode_id: str, name: str):
        path = await self.off_loop(frame_path, self.trajectories, episode_id, name)
        if path is None:
            self.not_found(f"no frame {name} in episode {episode_id}")
            return
        self.set_header("Content-Type", CONTENT_TYPES[name.rsplit(".", 1)[-1]])
        self.finish(await self.off_loop(path.read_bytes))


def routes(shared: dict) -> list[tuple]:
    """shared: the pool, settings and observer every handler gets."""
    episode_id = r"([A-Za-z0-9_-]{1,64})"
    return [
        (r"/metrics", MetricsHandler, shared),
        (r"/dashboard/?", PageHandler, {**shared, "page": "index.html"}),
        (rf"/dashboard/episode/{episode_id}", PageHandler, {**shared, "page": "episode.html"}),
        (r"/dashboard/static/(.*)", AssetHandler, {"path": str(ASSETS)}),
        (r"/dashboard/api/state", StateHandler, shared),
        (r"/dashboard/api/frames/([0-9]{1,4})", LiveFrameHandler, shared),
        (r"/dashboard/api/episodes", EpisodesHandler, shared),
        (rf"/dashboard/api/episodes/{episode_id}", EpisodeHandler, shared),
        (rf"/dashboard/api/episodes/{episode_id}/frames/([0-9]{{3,6}}\.(?:png|jpg))", EpisodeFrameHandler,
         shared),
    ]
