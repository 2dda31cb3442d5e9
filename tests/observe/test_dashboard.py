"""The dashboard in a real headless Chromium, driven through the project's DevTools client.

Set OSWORLD_DOCS_SCREENSHOTS=1 to also save the pages to docs/dashboard-grid.png and
docs/dashboard-replay.png.
"""
from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path

import pytest

from daemon.guest.devtools import DevToolsClient
from daemon.simulator.tasks import load_task
from tests.support import FINISH, ROOT, SAVE, TYPE, DaemonProcess, free_port, running_chromium

ENVS = 3
PREDICTIONS = ["Thought: open the notes.\nAction: click(start_box='(640,360)')",
               "Thought: select a word.\nAction: drag(start_box='(500,300)', end_box='(900,420)')",
               TYPE, SAVE]
PHASES = {"idle", "resetting", "running", "done"}
VIEWPORT = {"width": 1400, "height": 1000}

CARDS = """JSON.stringify([...document.querySelectorAll('.card')].map(card => {
  const image = card.querySelector('img');
  return {env: card.dataset.env, phase: card.querySelector('.phase').dataset.phase,
          loaded: image.complete && image.naturalWidth > 0, seq: image.dataset.seq || null,
          step: card.querySelector('.step').textContent,
          instruction: card.querySelector('.instruction').textContent};
}))"""
REPLAY = """JSON.stringify({position: document.getElementById('position').textContent,
  src: document.getElementById('frame').getAttribute('src'),
  loaded: document.getElementById('frame').complete && document.getElementById('frame').naturalWidth > 0,
  marks: document.querySelectorAll('#marks circle.mark').length,
  drags: document.querySelectorAll('#marks line.drag').length,
  prediction: document.getElementById('prediction').textContent})"""


class EpisodeRunner:
    """Each env runs episodes in its own thread (bounded count) while the test watches the page."""

    def __init__(self, daemon: DaemonProcess, episodes: int = 4):
        self.daemon, self.episodes, self.stop = daemon, episodes, threading.Event()
        self.finished: list[str] = []
        self.errors: list[BaseException] = []          # a thread's failed assert, raised by __exit__
        self.threads = [threading.Thread(target=self.guarded_run, args=(env,), daemon=True)
                        for env in range(ENVS)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
        if self.errors and exc[0] is None:
            raise self.errors[0]

    def guarded_run(self, env: int) -> None:
        try:
            self.run(env)
        except BaseException as exc:                    # an assert in a thread would only warn
            self.errors.append(exc)

    def run(self, env: int) -> None:
        for _ in range(self.episodes):
            if self.stop.is_set():
                return
            status, answer = self.daemon.post("/env/reset", {"env_idx": env, "history": "delta",
                                                             "task_config": load_task("type_and_save")})
            assert status == 200, answer
            for prediction in [*PREDICTIONS, FINISH]:
                time.sleep(0.3)                                  # a pace the page can watch
                assert self.daemon.post("/env/step", {"env_idx": env, "prediction": prediction})[0] == 200
            assert self.daemon.request("POST", "/env/evaluate",
                                       json.dumps({"env_idx": env}).encode())[0] == 200
            self.finished.append(answer["episode_id"])


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("dashboard"), envs=ENVS).start()
    yield process
    process.stop()


@pytest.fixture
def browser(tmp_path):
    port = free_port()
    with running_chromium(port, tmp_path / "profile"):
        client = DevToolsClient("127.0.0.1", port, timeout=30)
        client.wait_until_listening()
        yield client


def open_page(client: DevToolsClient, daemon: DaemonProcess, path: str) -> str:
    """A tab of the viewport's size on `path`, logged in once through the /t/<token>/ URL (it sets the cookie
    and redirects): the page and its assets then authenticate by cookie. Both loads are browser-initiated,
    like a URL typed by hand, so the SameSite=Strict cookie is sent."""
    # Target.createTarget with a size and Page.navigate: the DevTools client's open_tab has neither.
    login = f"http://127.0.0.1:{daemon.port}/t/{daemon.token}/dashboard"
    target = client._browser("Target.createTarget", {"url": login, **VIEWPORT})["targetId"]
    daemon.wait_for(lambda: client.evaluate(target, "location.pathname") == "/dashboard", 30,
                    "the login redirect")
    if path != "/dashboard":
        client._page(target, "Page.navigate", {"url": f"http://127.0.0.1:{daemon.port}{path}"})
        daemon.wait_for(lambda: client.evaluate(target, "location.pathname") == path, 30, f"the page {path}")
    client.wait_loaded(target, 20)
    return target


def screenshot(client: DevToolsClient, target: str, name: str, tmp_path: Path) -> Path:
    data = base64.b64decode(client._page(target, "Page.captureScreenshot", {"format": "png"})["data"])
    folder = ROOT / "docs" if os.environ.get("OSWORLD_DOCS_SCREENSHOTS") else tmp_path
    (folder / name).write_bytes(data)
    return folder / name


def test_the_grid_shows_every_env_live_with_its_phase(daemon, browser, tmp_path):
    with EpisodeRunner(daemon, episodes=2):
        target = open_page(browser, daemon, "/dashboard")

        def all_live():
            cards = json.loads(browser.evaluate(target, CARDS))
            ready = len(cards) == ENVS and all(c["loaded"] and c["seq"] and c["phase"] in PHASES
                                              for c in cards)
            return cards if ready else None
        first = daemon.wait_for(all_live, 30, "every env with a screenshot and a phase")
        assert sorted(card["env"] for card in first) == [str(env) for env in range(ENVS)]
        assert all("hello world" in card["instruction"] for card in first)

        def all_refreshed():                                   # every image was replaced by a newer frame
            cards = all_live()
            fresh = cards and all(int(now["seq"]) > int(then["seq"]) for now, then in zip(cards, first))
            return cards if fresh else None
        cards = daemon.wait_for(all_refreshed, 30, "every env's screenshot refreshed on its own")
        assert any(card["step"].startswith("step ") for card in cards)
        rows = "document.querySelectorAll('#episodes tbody tr').length"
        daemon.wait_for(lambda: browser.evaluate(target, rows) >= ENVS, 30, "the recorded episodes listed")
        shot = screenshot(browser, target, "dashboard-grid.png", tmp_path)
    assert shot.read_bytes()[:4] == b"\x89PNG"
    for path in ("/dashboard", "/dashboard/api/state", "/dashboard/api/frames/0",
                 "/dashboard/static/grid.js"):
        assert daemon.request("GET", path, token=None)[0] == 401, path
    assert daemon.token not in daemon.log_path.read_text()                 # logged in by URL, never logged


def test_the_replay_page_steps_through_a_recorded_episode(daemon, browser, tmp_path):
    with EpisodeRunner(daemon, episodes=1) as runner:
        pass
    episode_id = runner.finished[0]
    target = open_page(browser, daemon, f"/dashboard/episode/{episode_id}")
    state = lambda: json.loads(browser.evaluate(target, REPLAY))       # noqa: E731
    first = daemon.wait_for(lambda: (s := state())["loaded"] and s, 30, "the first frame")
    assert first["position"].startswith("1 / 5") and first["marks"] == 1 and first["drags"] == 0
    assert first["src"].endswith("/frames/000.png") and "click(start_box='(640,360)')" in first["prediction"]
    browser.evaluate(target, "document.getElementById('next').click()")
    shown = lambda frame: (s := state())["loaded"] and s["src"].endswith(frame) and s       # noqa: E731
    second = daemon.wait_for(lambda: shown("/001.png"), 30, "the next frame")
    assert second["position"].startswith("2 / 5") and second["drags"] == 1 and "drag(" in second["prediction"]
    for _ in range(3):
        browser.evaluate(target, "document.getElementById('next').click()")
    last = daemon.wait_for(lambda: shown("/004.png"), 30, "the last frame")
    assert last["position"].startswith("5 / 5 · step 5") and last["marks"] == 0
    assert "finished(" in last["prediction"]
    browser.evaluate(target, "document.getElementById('slider').value = 1; "
                             "document.getElementById('slider').dispatchEvent(new Event('input'))")
    daemon.wait_for(lambda: state()["drags"] == 1, 30, "the slider back to the drag")
    assert screenshot(browser, target, "dashboard-replay.png", tmp_path).read_bytes()[:4] == b"\x89PNG"
