"""The host policy's parts in-process: pinned addresses (no DNS rebinding), download time caps, zip and image
bounds, the parameter schemas covering every step and getter, the desktop-env allowlist."""
from __future__ import annotations

import io
import ipaddress
import socket
import struct
import sys
import threading
import zipfile
from types import SimpleNamespace

import pytest

from daemon.evaluation.admission import DESKTOP_ENV_METRICS, missing_capabilities
from daemon.evaluation.context import TaskContext
from daemon.evaluation.downloads import fetch
from daemon.evaluation.external.adapter import DesktopEnvMetrics, ExternalMetricError
from daemon.evaluation.getters import GETTERS
from daemon.evaluation.host_policy import MAX_ZIP_BYTES, MAX_ZIP_MEMBERS, HostPolicy, PolicyError
from daemon.evaluation.steps import STEPS
from daemon.evaluation.task_shape import GETTER_PARAMETERS, STEP_PARAMETERS
from tests.security.test_task_policy import Recorder
from tests.support import fresh_ip_base

LOOPBACK_ONLY = HostPolicy(private_networks=(ipaddress.ip_network("127.0.0.1/32"),))


@pytest.mark.parametrize("address, allowed", [
    ("8.8.8.8", True), ("2606:4700::1111", True), ("127.0.0.1", False), ("10.1.2.3", False),
    ("192.168.0.1", False), ("169.254.169.254", False), ("224.0.0.1", False), ("240.0.0.1", False),
    ("0.0.0.0", False), ("::1", False), ("fe80::1%eth0", False), ("::ffff:127.0.0.1", False),
    ("64:ff9b::7f00:1", False), ("2002:7f00:1::", False), ("100.64.0.1", False), ("fc00::1", False)])
def test_which_addresses_a_download_may_reach(address, allowed):
    assert HostPolicy().address_allowed(address) is allowed
    assert HostPolicy(allow_all_private=True).address_allowed(address) is True


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected(tmp_path, monkeypatch):
    """DNS rebinding: the first answer is allowed (127.0.0.1 here); later answers would lead to a victim."""
    allowed = Recorder("127.0.0.1", {"/f": ("body", b"allowed bytes")})
    victim = Recorder(fresh_ip_base(), {"/f": ("body", b"victim bytes")})
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"] + [victim.server_address[0]] * 5)
    lookups = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        path = fetch(f"http://rebind.test:{allowed.server_address[1]}/f", tmp_path, LOOPBACK_ONLY, 5.0)
        assert path.read_bytes() == b"allowed bytes"
        assert lookups == ["rebind.test"] and victim.requests == [] and allowed.requests == ["/f"]
    finally:
        allowed.close()
        victim.close()


def test_a_trickling_server_is_cut_at_the_download_timeout(tmp_path):
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as server:
        def trickle():
            connection, _ = server.accept()
            with connection:
                connection.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
                while not stop.wait(0.2):              # a byte every 0.2 s: no read ever times out
                    connection.sendall(b"x")
        threading.Thread(target=trickle, daemon=True).start()
        with pytest.raises(Exception, match="download failed") as caught:
            fetch(f"http://127.0.0.1:{server.getsockname()[1]}/", tmp_path, LOOPBACK_ONLY, 1.5)
        stop.set()
    assert "download_timeout" in str(caught.value)
    assert not list(tmp_path.iterdir())                  # no .part left


def _zip(members: int, declared_size: int | None = None) -> bytes:
    """A zip of small members; declared_size: what its central directory claims the first one unpacks to."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(members):
            archive.writestr(f"m{index}.xml", b"<a/>")
    raw = bytearray(data.getvalue())
    if declared_size is not None:
        entry = raw.index(b"PK\x01\x02")                  # the first central directory record
        raw[entry + 24:entry + 28] = struct.pack("<I", declared_size)
    return bytes(raw)


def test_zips_and_images_from_the_vm_are_sized_up_before_any_library_opens_them(tmp_path):
    from PIL import Image
    ctx = TaskContext(task_id="bombs", cache_dir=tmp_path)
    assert ctx.save("fine.xlsx", _zip(3)).exists()
    with pytest.raises(PolicyError, match="unpacks to more than"):
        ctx.save("bomb.xlsx", _zip(3, declared_size=MAX_ZIP_BYTES + 1))
    with pytest.raises(PolicyError, match="members"):
        ctx.save("many.docx", _zip(MAX_ZIP_MEMBERS + 1))
    png = io.BytesIO()
    Image.new("1", (6000, 6000)).save(png, "PNG")
    with pytest.raises(PolicyError, match="pixels"):
        ctx.save("big.png", png.getvalue())


def test_every_step_and_getter_has_a_parameter_schema():
    assert set(STEPS) == set(STEP_PARAMETERS)
    plain = {"vm_terminal_output", "vm_screen_size", "accessibility_tree", "open_tabs_info",
             "default_search_engine", "profile_name", "enable_do_not_track", "enable_safe_browsing",
             "new_startup_page",
             "data_delete_automacally", "find_unpacked_extension_path", "find_installed_extension_name",
             "chrome_font_size", "bookmarks", "shortcuts_on_desktop", "default_video_player"}   # read no keys
    assert set(GETTERS) - plain == set(GETTER_PARAMETERS)


def test_desktop_env_runs_only_allowlisted_metrics(tmp_path):
    settings = SimpleNamespace(evaluation={"desktop_env_python": sys.executable})
    unknown = {"evaluator": {"func": "__import__", "result": {"type": "rule", "rules": {}}}}
    assert missing_capabilities(unknown, settings) == ["metric '__import__' (not implemented)"]
    assert "compare_audios" in DESKTOP_ENV_METRICS \
        and "check_python_file_by_test_suite" not in DESKTOP_ENV_METRICS
    with pytest.raises(ExternalMetricError, match="refused by policy"):
        DesktopEnvMetrics(sys.executable).score("system", [], {})
