"""Property-based fuzz of the live API with a valid token: random methods, paths, headers and bodies (raw
bytes, any JSON shape, the routes' own fields with wrong types, mutated tasks). Every answer is JSON and below
500, no worker is restarted, and afterwards every env runs a normal episode. The one 5xx allowed: a task whose
own setup step fails in the VM (502 setup_failed, by design). OSWORLD_FUZZ_EXAMPLES raises the count (the
large run: bench/fuzz_api.py).
"""
from __future__ import annotations

import collections
import copy
import gzip
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.simulator.tasks import load_task
from tests.security.conftest import run_episode
from tests.support import ROOT, DaemonProcess

EXAMPLES = int(os.environ.get("OSWORLD_FUZZ_EXAMPLES", "250"))
ROUTES = ["/env/reset", "/env/step", "/env/evaluate", "/env/history_messages", "/health"]
TASKS = [load_task(name)
         for name in ("type_and_save", "answer_only", "close_tab", "either_file", "sign_letter")]
PREDICTIONS = [json.loads(line)["prediction"] for line in
               (ROOT / "tests" / "data" / "uitars_predictions.jsonl").read_text().splitlines()
               if line.strip()]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
    | st.floats() | st.text(max_size=40) | st.sampled_from(["\ud800", "x\udfffy"]),   # lone surrogates
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=20)


def mutate(task: dict, path_choice: int, key: str, value, replace: bool) -> dict:
    """The task with one value somewhere inside replaced by (or a key added with) a random JSON value."""
    task = copy.deepcopy(task)
    containers = []

    def walk(node):
        if isinstance(node, (dict, list)):
            containers.append(node)
            for child in (node.values() if isinstance(node, dict) else node):
                walk(child)
    walk(task)
    target = containers[path_choice % len(containers)]
    if isinstance(target, dict):
        keys = list(target)
        target[keys[path_choice % len(keys)] if replace and keys else key] = value
    elif target:
        target[path_choice % len(target)] = value
    else:
        target.append(value)
    return task


tasks = st.builds(mutate, st.sampled_from(TASKS), st.integers(0, 1000),
                  st.sampled_from(["type", "parameters", "command", "path", "func", "result", "expected",
                                   "rules", "options", "sleep", "seconds", "conj", "postconfig", "dest",
                                   "x"]),
                  json_values, st.booleans()) | json_values
predictions = st.sampled_from(PREDICTIONS) | st.text(max_size=200) | st.builds(
    lambda name, args: f"Thought: t.\nAction: {name}({args})",
    st.sampled_from(["click", "type", "hotkey", "scroll", "drag", "wait", "finished", "press", "left_double",
                     "right_single", "call_user", "nonsense"]), st.text(max_size=60))
fields = st.fixed_dictionaries({}, optional={
    "env_idx": st.integers(-2, 3) | json_values,
    "task_config": tasks,
    "prediction": predictions | json_values,
    "episode_id": st.text(max_size=20) | json_values,
    "step_idx": st.integers(-2, 20) | json_values,
    "max_steps": st.integers(-2, 150) | json_values,
    "history": st.sampled_from(["full", "delta", "FULL"]) | json_values,
    "image_format": st.sampled_from(["png", "jpeg", "gif"]) | json_values,
    "jpeg_quality": st.integers(-5, 105) | json_values,
})
bodies = (fields.map(lambda body: json.dumps(body).encode())
          | json_values.map(lambda value: json.dumps(value).encode())
          | st.binary(max_size=300)
          | st.tuples(fields, st.integers(1, 200)).map(lambda pair: json.dumps(pair[0]).encode()[:pair[1]]))
URL_CHARS = "".join(chr(c) for c in range(0x21, 0x7f))
HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xff, blacklist_characters="\r\n\x7f")
headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Accept-Encoding", "X-OSWorld-Nonce", "Cookie", "Expect",
                     "Content-Encoding", "X-Forwarded-For", "Accept", "Origin", "Range", "If-None-Match",
                     "X-Anything"]),
    st.text(HEADER_CHARS, max_size=60), max_size=4)


@st.composite
def requests_(draw, token: str):
    method = draw(st.sampled_from(["POST"] * 15 + ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]))
    routes = st.sampled_from(ROUTES)
    path = draw(st.one_of(routes, routes, routes, routes.map(lambda route: f"/t/{token}{route}"),
                          st.text(URL_CHARS, max_size=40).map(lambda text: "/" + text)))
    body = draw(bodies) if method in ("POST", "PUT", "PATCH") else None
    return method, path, body, draw(headers)


# A task whose own setup step or evaluation fails in the VM answers 502 by design (README);
# the worker lives on.
TASK_FAILED = {"setup_failed", "evaluation_failed"}


def check_answer(method: str, status: int, answer_headers: dict, raw: bytes) -> str | None:
    """Asserts the answer is JSON and not a 5xx other than TASK_FAILED; returns its error code, if any."""
    if method == "HEAD":
        assert status < 500, status
        return None
    lower = {name.lower(): value for name, value in answer_headers.items()}
    assert lower.get("content-type") == "application/json", (status, raw[:300])
    document = json.loads(gzip.decompress(raw) if lower.get("content-encoding") == "gzip" else raw)
    code = document["error"]["code"] if isinstance(document, dict) and "error" in document else None
    assert status < 500 or (status == 502 and code in TASK_FAILED), (status, raw[:300])
    return code


def fuzz(daemon: DaemonProcess, examples: int, counts: collections.Counter,
         seen_5xx: list | None = None) -> None:
    """`examples` random requests, each checked; counts by status code (bench/fuzz_api.py prints them) and, in
    seen_5xx, every request that got a 5xx or no answer (the first one is the cause; hypothesis shrinks
    towards whatever fails next, often an innocent request to the env the cause broke)."""
    seen_5xx = [] if seen_5xx is None else seen_5xx

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(request=requests_(daemon.token))
    def one(request):
        method, path, body, extra = request
        try:
            status, answer_headers, raw = daemon.request(method, path, body, extra, timeout=60)
        except OSError as exc:
            counts["no answer"] += 1
            seen_5xx.append((method, path, body, repr(exc)))
            raise
        if status >= 500:
            seen_5xx.append((method, path, body, raw[:300]))
        code = check_answer(method, status, answer_headers, raw)
        counts[f"{status} {code}" if status >= 500 else status] += 1
    one()


def test_fuzzing_every_route_gets_no_5xx_restarts_no_worker_and_envs_still_work(tmp_path):
    daemon = DaemonProcess(tmp_path, envs=2).start()
    try:
        pids = daemon.worker_pids()
        counts: collections.Counter = collections.Counter()
        seen_5xx: list = []
        try:
            fuzz(daemon, EXAMPLES, counts, seen_5xx)
        except Exception as exc:
            raise AssertionError(f"the first request answered 5xx or not at all: {seen_5xx[:1]!r:.3000}") \
                from exc
        assert daemon.worker_pids() == pids, counts
        for env_idx in range(2):
            daemon.wait_for(lambda env_idx=env_idx: not daemon.env_health(env_idx)["busy"], 60, "env idle")
            assert run_episode(daemon, env_idx) == 1.0
        assert daemon.worker_pids() == pids
        print(f"fuzz status counts: {dict(sorted(counts.items(), key=str))}")
    finally:
        daemon.stop()
