"""Hostile task files over real HTTP: a task never touches the host (files, network, workers).

Each vector is a reset (or an evaluate) a hostile cluster user could send. The checks: the answer is a clear
4xx or "refused by policy"/"download failed" 5xx; a marker file outside the allowed roots reaches neither the
VM (asked through the guest's HTTP API), an answer, the daemon log nor the cache; a loopback HTTP server the
test runs records no request; nothing is written outside the task folder; the worker PID never changes.
"""
from __future__ import annotations

import io
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from daemon.guest.client import GuestClient
from tests.support import DaemonProcess, free_port, fresh_ip_base

MARKER = f"MARKER-{uuid.uuid4().hex}"
VM_TEXT = f"VM-TEXT-{uuid.uuid4().hex}"           # a file's content in the VM (not a host secret)
NOTES = "/home/user/Desktop/notes.txt"


# --- a loopback HTTP server that records every request ------------------------------------------------------
class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, routes: dict | None = None):
        self.requests: list[str] = []
        self.routes = routes or {}
        super().__init__((host, free_port()), RecordingHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str = "/file", host: str | None = None) -> str:
        return f"http://{host or self.server_address[0]}:{self.server_address[1]}{path}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class RecordingHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path, ("body", MARKER.encode()))
        getattr(self, "_" + route[0])(route[1])

    def _body(self, data: bytes):
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _redirect(self, location: str):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _endless(self, declared: int | None):
        self.send_response(200)
        if declared is not None:
            self.send_header("Content-Length", str(declared))
        self.end_headers()
        chunk = b"\0" * 65536
        try:
            for _ in range(1000):                     # bounded: 64 MiB at most
                self.wfile.write(chunk)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    servers = []

    def start(host: str = "127.0.0.1", routes: dict | None = None) -> Recorder:
        servers.append(Recorder(host, routes))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


# --- daemons ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A folder outside every allowed root, holding the marker as a secret file and as an ssh key."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.txt").write_text(MARKER)
    (folder / ".ssh").mkdir()
    (folder / ".ssh" / "id_ed25519").write_text(MARKER)
    return folder


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """The default policy: what a fresh install does."""
    process = DaemonProcess(tmp_path_factory.mktemp("policy-default"), envs=1).start()
    assert reset(process, task())[0] == 200       # a running VM whose file system the tests look into
    yield process
    process.stop()


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    """A policy opened for tests: 127.0.0.1 allowed, a file root and an upload root, small caps."""
    work = tmp_path_factory.mktemp("policy-opened")
    (work / "files").mkdir()
    (work / "uploads").mkdir()
    process = DaemonProcess(work, envs=1, evaluation={
        "allow_private_urls": ["127.0.0.1/32"], "file_url_roots": [str(work / "files")],
        "upload_roots": [str(work / "uploads")], "download_max_bytes": 1 << 20,
        "download_timeout": 5.0}).start()
    assert reset(process, task())[0] == 200
    yield process
    process.stop()


def task(config=(), evaluator=None, **extra) -> dict:
    evaluator = evaluator or {"func": "exact_match",
                              "result": {"type": "vm_command_line", "command": ["cat", NOTES]},
                              "expected": {"type": "rule", "rules": {"expected": ""}}}
    return {"id": "hostile", "instruction": "nothing", "config": list(config), "evaluator": evaluator,
            **extra}


def reset(daemon, task_config) -> tuple[int, dict]:
    return daemon.post("/env/reset", {"task_config": task_config})


def guest(daemon) -> GuestClient:
    return GuestClient(daemon.ip_base, 5000, request_timeout=10, retries=1)


def leaked(daemon, *answers) -> list[str]:
    """Where the marker showed up: an answer, the daemon log, any file of the daemon
    (cache, VM disks, run)."""
    places = [f"answer {i}" for i, answer in enumerate(answers) if MARKER in json.dumps(answer)]
    for path in daemon.workdir.rglob("*"):
        if path.is_file() and not path.is_symlink() and MARKER.encode() in path.read_bytes():
            places.append(str(path))
    return places


def refused(answer, status: int, status_wanted: int, *words: str) -> None:
    message = answer["error"]["message"] if isinstance(answer, dict) and "error" in answer else ""
    assert status == status_wanted, (status, answer)
    for word in words:
        assert word in message, (word, message)


@pytest.fixture
def same_workers(daemon, opened):
    before = (daemon.worker_pids(), opened.worker_pids())
    yield
    assert (daemon.worker_pids(), opened.worker_pids()) == before, "a worker was restarted"


# --- host paths ---------------------------------------------------------------------------------------------
def _execute(stream: str, name) -> dict:
    return task([{"type": "execute", "parameters": {"command": ["cat", NOTES], stream: name}}])


def _getter(getter: dict) -> dict:
    return task(evaluator={"func": "compare_text_file", "result": getter,
                           "expected": {"type": "vm_file", "path": NOTES, "dest": "gold.txt"}})


def host_path_vectors(target: str) -> list:
    """(task, the key its refusal must name) for each way a task names a host file."""
    return [
        (_execute("stdout", target), "stdout"),
        (_execute("stderr", "../../" + Path(target).name), "stderr"),
        (_execute("stdout", ".."), "stdout"),
        (_getter({"type": "vm_file", "path": NOTES, "dest": target}), "dest"),
        (_getter({"type": "vm_file", "path": NOTES, "dest": "../escape.txt"}), "dest"),
        (_getter({"type": "vm_file", "path": [NOTES, NOTES], "dest": ["ok.txt", target], "multi": True}),
         "dest"),
        (_getter({"type": "cloud_file", "path": "https://example.com/x.txt", "dest": target}), "dest"),
        (_getter({"type": "cache_file", "path": target}), "path"),
        (_getter({"type": "cache_file", "path": "../../../../etc/passwd"}), "path"),
        (_getter({"type": "vlc_config", "dest": target}), "dest"),
        (_getter({"type": "pdf_from_url", "path": "https://example.com", "dest": target}), "dest"),
        (_getter({"type": "content_from_vm_file", "path": "/home/user/..", "file_type": "xlsx",
                  "file_content": "last_row"}), "path"),
        (task(id=".."), "task_config.id"),
        (task(id="../../outside"), "task_config.id"),
    ]


def test_host_paths_outside_the_task_folder_are_refused_before_any_vm_time(daemon, same_workers, tmp_path):
    target = tmp_path / "written-by-a-task.txt"
    episode = daemon.env_health(0)["episode_id"]
    for task_config, key in host_path_vectors(str(target)):
        status, answer = reset(daemon, task_config)
        refused(answer, status, 400, key)
    assert daemon.env_health(0)["episode_id"] == episode          # refused before the VM was touched
    assert not target.exists()
    cache = daemon.workdir / "cache"
    assert not [p for p in cache.rglob("*") if p.name in ("escape.txt", target.name)]


# --- host files ---------------------------------------------------------------------------------------------
def test_upload_file_reads_nothing_outside_upload_roots(daemon, opened, outside, same_workers):
    for process in (daemon, opened):
        upload = task([{"type": "upload_file", "parameters": {"files": [
            {"local_path": str(outside / ".ssh" / "id_ed25519"), "remote_path": "/home/user/key"}]}}])
        status, answer = reset(process, upload)
        refused(answer, status, 400, "local_path", "upload_roots")
        assert guest(process).get_file("/home/user/key") is None
        assert leaked(process, answer) == []


def test_file_urls_outside_the_roots_are_refused(daemon, outside, same_workers):
    secret = (outside / "secret.txt").as_uri()
    vectors = [task([{"type": "download", "parameters": {"files": [{"url": url, "path": "/home/user/got"}]}}])
               for url in (secret, "file:///dev/zero", "file://localhost" + str(outside / "secret.txt"),
                           "file:///etc/passwd")]
    vectors.append(_getter({"type": "cloud_file", "path": secret, "dest": "x.txt"}))
    answers = []
    for task_config in vectors:
        status, answer = reset(daemon, task_config)
        refused(answer, status, 400, "file_url_roots")
        answers.append(answer)
    assert guest(daemon).get_file("/home/user/got") is None
    assert leaked(daemon, *answers) == []


@pytest.mark.parametrize("url", ["ftp://example.com/x", "data:text/plain;base64,SGk=", "gopher://example.com/",
                                 "jar:file:///x!/y", "//example.com/x", "http:///x"])
def test_other_url_schemes_are_refused(daemon, url, same_workers):
    status, answer = reset(daemon, task([{"type": "download", "parameters": {
        "files": [{"url": url, "path": "/home/user/got"}]}}]))
    refused(answer, status, 400, "url")


def test_a_symlink_inside_a_file_root_cannot_lead_out_of_it(opened, outside, same_workers):
    files = opened.workdir / "files"
    (files / "link.txt").symlink_to(outside / "secret.txt")
    (files / "zero").symlink_to("/dev/zero")
    for name in ("link.txt", "zero"):
        status, answer = reset(opened, task([{"type": "download", "parameters": {"files": [
            {"url": (files / name).as_uri(), "path": "/home/user/got"}]}}]))
        refused(answer, status, 400, "file_url_roots")
    assert leaked(opened) == []


# --- the network --------------------------------------------------------------------------------------------
def _download(url: str) -> dict:
    return task([{"type": "download", "parameters": {"files": [{"url": url, "path": "/home/user/got"}]}}])


def test_loopback_and_private_urls_are_never_requested(daemon, recorder, same_workers):
    server = recorder()
    port = server.server_address[1]
    literal = [server.url(), f"http://[::1]:{port}/file", f"http://[::ffff:127.0.0.1]:{port}/file",
               f"http://0.0.0.0:{port}/file", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"]
    for url in literal:                           # named by address: refused at the handler
        status, answer = reset(daemon, _download(url))
        refused(answer, status, 400, "allow_private_urls")
    for host in ("localhost", "127.1", "2130706433"):  # names that resolve to loopback: refused when resolved
        status, answer = reset(daemon, _download(server.url(host=host)))
        refused(answer, status, 502, "refused by policy", "allow_private_urls")
        assert "Connection refused" not in json.dumps(answer)
    assert server.requests == []
    assert guest(daemon).get_file("/home/user/got") is None


def test_a_cloud_file_getter_on_localhost_is_refused_at_evaluate(daemon, recorder, same_workers):
    server = recorder()
    status, answer = reset(daemon, _getter({"type": "cloud_file", "path": server.url(host="localhost"),
                                            "dest": "gold.txt"}))
    assert status == 200, answer
    status, answer = daemon.post("/env/evaluate", {})
    refused(answer, status, 502, "refused by policy")
    assert server.requests == []
    assert MARKER not in json.dumps(answer)


def test_redirects_are_checked_again(opened, recorder, outside, same_workers):
    victim = recorder(fresh_ip_base())            # a loopback address outside the allowed 127.0.0.1/32
    allowed = recorder(routes={"/to-victim": ("redirect", victim.url()),
                               "/to-file": ("redirect", (outside / "secret.txt").as_uri()),
                               "/loop": ("redirect", "/loop")})
    for path, words in (("/to-victim", ("refused by policy",)), ("/to-file", ("refused by policy",)),
                        ("/loop", ("download failed", "redirects"))):
        status, answer = reset(opened, _download(allowed.url(path)))
        refused(answer, status, 502, *words)
    assert victim.requests == []
    assert len(allowed.requests) == 2 + 6         # each redirect once; the loop until the bound
    assert leaked(opened) == []


def test_an_allowed_download_reaches_the_vm(opened, recorder, same_workers):
    server = recorder(routes={"/ok": ("body", b"the file")})
    status, answer = reset(opened, _download(server.url("/ok")))
    assert status == 200, answer
    assert guest(opened).get_file("/home/user/got") == b"the file"
    (opened.workdir / "uploads" / "u.txt").write_bytes(b"uploaded")
    status, answer = reset(opened, task([{"type": "upload_file", "parameters": {"files": [
        {"local_path": str(opened.workdir / "uploads" / "u.txt"), "remote_path": "/home/user/u.txt"}]}}]))
    assert status == 200, answer
    assert guest(opened).get_file("/home/user/u.txt") == b"uploaded"


def test_a_failed_download_never_tells_an_open_port_from_a_closed_one(opened, recorder, same_workers):
    import socket
    http_server = recorder(routes={"/missing": ("status", 404)})
    closed = free_port()
    with socket.create_server(("127.0.0.1", 0)) as silent:       # accepts, then says nothing: not HTTP
        messages = set()
        for url in (f"http://127.0.0.1:{closed}/f", f"http://127.0.0.1:{silent.getsockname()[1]}/f",
                    http_server.url("/missing"), f"https://127.0.0.1:{http_server.server_address[1]}/f"):
            status, answer = reset(opened, _download(url))
            assert status == 502, answer
            messages.add(answer["error"]["message"].replace(url, "<url>"))
    assert len(messages) == 1 and "download failed" in messages.pop()


def test_downloads_are_bounded_and_leave_no_part_files(opened, recorder, same_workers):
    server = recorder(routes={"/endless": ("endless", None), "/declared": ("endless", 10 << 30)})
    big = opened.workdir / "files" / "big.bin"
    big.write_bytes(b"\0" * (2 << 20))
    for url in (server.url("/endless"), server.url("/declared"), big.as_uri()):
        status, answer = reset(opened, _download(url))
        assert status == 502, answer
        assert "download_max_bytes" in answer["error"]["message"], answer
    downloads = opened.workdir / "cache" / "downloads"
    assert not [p for p in downloads.iterdir() if p.name.startswith(".part")]
    assert sum(p.stat().st_size for p in downloads.iterdir()) < (1 << 20) + 4096


# --- malformed setup parameters -----------------------------------------------------------------------------
MALFORMED_STEPS = [
    {"type": "sleep", "parameters": {"seconds": -1}},
    {"type": "sleep", "parameters": {"seconds": float("nan")}},
    {"type": "sleep", "parameters": {"seconds": float("inf")}},
    {"type": "sleep", "parameters": {"seconds": 1e308}},
    {"type": "sleep", "parameters": {"seconds": "5"}},
    {"type": "sleep", "parameters": {"seconds": [1]}},
    {"type": "sleep", "parameters": {}},
    {"type": "execute", "parameters": {"command": {"a": 1}}},
    {"type": "execute", "parameters": {"command": []}},
    {"type": "execute", "parameters": {"command": ["cat", NOTES], "stdout": ["a"]}},
    {"type": "execute", "parameters": {"command": ["cat", NOTES], "until": {"returncode": [0]}}},
    {"type": "command", "parameters": {"command": None}},
    {"type": "launch", "parameters": {"command": 5}},
    {"type": "open", "parameters": {"path": ["/home/user/a"]}},
    {"type": "download", "parameters": {"files": "https://example.com/x"}},
    {"type": "download",
     "parameters": {"files": [{"url": ["https://example.com/x"], "path": "/home/user/x"}]}},
    {"type": "download", "parameters": {"files": [{"url": "https://example.com/x", "path": {"p": 1}}]}},
    {"type": "upload_file", "parameters": {"files": [{"local_path": 1, "remote_path": "/x"}]}},
    {"type": "activate_window", "parameters": {"window_name": ["w"]}},
    {"type": "close_window", "parameters": {"window_name": "w", "strict": {"x": 1}}},
    {"type": "change_wallpaper", "parameters": {"path": 7}},
    {"type": "chrome_open_tabs", "parameters": {"urls_to_open": "https://example.com"}},
    {"type": "chrome_close_tabs", "parameters": {"urls_to_close": [1]}},
    {"type": "update_browse_history", "parameters": {"history": [{"url": 1, "title": "t",
                                                                  "visit_time_from_now_in_seconds": 5}]}},
]
MALFORMED_GETTERS = [
    {"type": "vm_file", "path": 5, "dest": "a"},
    {"type": "vm_file", "path": ["/a", "/b"], "dest": ["a"], "multi": True},
    {"type": "vm_file", "path": ["/a"], "dest": ["a"], "multi": True, "gives": [3]},
    {"type": "vm_command_line", "command": {"a": 1}},
    {"type": "vm_window_size", "app_class_name": ["x"]},
    {"type": "list_directory"},
    {"type": "rule"},
    {"type": "url_dashPart", "partIndex": "two", "returnType": "string"},
    {"type": "rule_relativeTime", "rules": "tomorrow"},
    {"type": "background_image_in_slide", "ppt_file_path": "/home/user/a.pptx", "slide_index": "x",
     "dest": "b"},
]


def test_malformed_setup_parameters_are_refused_at_the_handler(daemon, same_workers):
    for step in MALFORMED_STEPS:
        for place in ("config", "postconfig"):
            task_config = task([step]) if place == "config" else task()
            if place == "postconfig":
                task_config["evaluator"]["postconfig"] = [step]
            body = json.dumps({"task_config": task_config}).encode()  # NaN and Infinity as Python writes them
            status, _, raw = daemon.request("POST", "/env/reset", body, {"Content-Type": "application/json"})
            answer = json.loads(raw)
            refused(answer, status, 400, step["type"])
    for getter in MALFORMED_GETTERS:
        status, answer = reset(daemon, task(evaluator={
            "func": "exact_match", "result": getter,
            "expected": {"type": "rule", "rules": {"expected": ""}}}))
        refused(answer, status, 400, getter["type"])
    assert daemon.env_health(0)["phase"] not in ("recovering", "broken")


# --- what a metric opens ------------------------------------------------------------------------------------
def test_a_huge_image_is_refused_before_a_metric_decodes_it(daemon, same_workers):
    from PIL import Image
    status, answer = reset(daemon, task(evaluator={
        "func": "check_image_size",
        "result": {"type": "vm_file", "path": "/home/user/big.png", "dest": "big.png"},
        "expected": {"type": "rule", "rules": {"height": 6000, "width": 6000}}}))
    assert status == 200, answer
    png = io.BytesIO()
    Image.new("1", (6000, 6000)).save(png, "PNG")
    guest(daemon).upload("/home/user/big.png", png.getvalue())
    status, answer = daemon.post("/env/evaluate", {})
    refused(answer, status, 502, "refused by policy", "pixels")


def reset_run_sqlite3(daemon, sql: str) -> None:
    """A run_sqlite3 task running `sql` on the guest's /home/user/d.sqlite, a table t of one text value
    v = VM_TEXT."""
    import sqlite3
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "d.sqlite"
        with sqlite3.connect(database) as connection:
            connection.execute("CREATE TABLE t (v TEXT)")
            connection.execute("INSERT INTO t VALUES (?)", (VM_TEXT,))
        connection.close()
        data = database.read_bytes()
    status, answer = reset(daemon, task(evaluator={
        "func": "run_sqlite3",
        "result": {"type": "vm_file", "path": "/home/user/d.sqlite", "dest": "d.sqlite"},
        "expected": {"type": "rule", "rules": {"sql": sql}}}))
    assert status == 200, answer
    guest(daemon).upload("/home/user/d.sqlite", data)


def test_metric_errors_never_echo_file_contents(daemon, same_workers):
    """run_sqlite3's value is a number; a text value used to come back in the error, quoting the file."""
    reset_run_sqlite3(daemon, "SELECT v FROM t")
    status, answer = daemon.post("/env/evaluate", {})
    assert (status, answer["error"]["code"]) == (500, "evaluator_error"), answer   # float() of text: our bug
    assert VM_TEXT not in json.dumps(answer) and str(daemon.workdir) not in json.dumps(answer)


@pytest.mark.parametrize("sql", ["ATTACH DATABASE '{}' AS x", "VACUUM INTO '{}'"])
def test_run_sqlite3_creates_no_host_file(daemon, same_workers, tmp_path, sql):
    """mode=ro covers only the main database: ATTACH (and VACUUM INTO, which attaches) would create a file
    at any host path the worker can write."""
    target = tmp_path / "attached.sqlite"
    reset_run_sqlite3(daemon, sql.format(target))
    status, answer = daemon.post("/env/evaluate", {})
    refused(answer, status, 502, "refused by policy", "attaches")
    assert not target.exists()


@pytest.mark.parametrize("source", ["rule", "guest output"])
def test_a_metric_is_never_handed_a_host_file(daemon, outside, same_workers, source):
    """diff_text_file opens whatever string it gets: a rule (or what a guest command prints) naming a host
    file would score how alike a guessed text is to that file. The evaluation is refused instead,
    before the metric. The expected text names no file: only the source under test hands the metric the
    path."""
    secret = str(outside / ".ssh" / "id_ed25519")
    result = {"type": "rule", "rules": secret} if source == "rule" else \
        {"type": "vm_command_line", "command": ["echo", "-n", secret]}
    status, answer = reset(daemon, task(evaluator={"func": "diff_text_file", "result": result,
                                                   "expected": {"type": "rule", "rules": "a guess"}}))
    assert status == 200, answer
    status, answer = daemon.post("/env/evaluate", {})
    refused(answer, status, 502, "refused by policy")
    assert leaked(daemon, answer) == []


def test_a_metric_is_never_handed_another_tasks_file(daemon, same_workers):
    """The cache is shared by all tasks: a rule naming a file of another task's folder is refused too."""
    secret = daemon.workdir / "cache" / "tasks" / "another-task" / "result.txt"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text(MARKER)
    status, answer = reset(daemon, task(evaluator={"func": "diff_text_file",
                                                   "result": {"type": "rule", "rules": str(secret)},
                                                   "expected": {"type": "rule", "rules": "a guess"}}))
    assert status == 200, answer
    status, answer = daemon.post("/env/evaluate", {})
    secret.unlink()
    refused(answer, status, 502, "refused by policy")
    assert leaked(daemon, answer) == []


def test_an_empty_metric_list_is_a_400_not_a_worker_crash(daemon, same_workers):
    status, answer = reset(daemon, task(evaluator={"func": [], "result": [], "expected": []}))
    refused(answer, status, 400, "evaluator.func")
