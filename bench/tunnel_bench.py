"""Tunnel benchmark: our paramiko tunnel vs OpenSSH's `ssh -N -R`, on the same private sshd, on loopback and
through a latency proxy that adds 50 ms of round trip between the Mac side and sshd.

    .venv/bin/python bench/tunnel_bench.py      # about 2 minutes; needs sshd (scripts/test.sh installs it)

Measures, from the "cluster" side (the remote port): median latency of GET /health on a new connection and on
a reused one, of a 2 MB JSON answer, and throughput of 50 MB each way. Loopback only; every loop is bounded.
"""
from __future__ import annotations

import asyncio
import http.client
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import free_port  # noqa: E402
from tests.tunnel.harness import SshServer, Tunnel, wait_http  # noqa: E402

ROUNDS = 30


class LatencyProxy:
    """TCP relay adding a one-way delay to every chunk, both directions, without capping throughput."""

    def __init__(self, target_port: int, one_way_seconds: float):
        self.target_port, self.delay = target_port, one_way_seconds
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)

    async def _serve(self):
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _client(self, reader, writer):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._relay(reader, up_writer), self._relay(up_reader, writer))

    async def _relay(self, reader, writer):
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver():
            while (item := await queue.get()) is not None:
                due, data = item
                await asyncio.sleep(max(0.0, due - self.loop.time()))
                writer.write(data)
                await writer.drain()
            writer.close()
        sender = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(256 * 1024):
                queue.put_nowait((self.loop.time() + self.delay, data))
        except ConnectionError:
            pass
        queue.put_nowait(None)
        await sender


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> bytes:
    conn.request(method, path, body)
    return conn.getresponse().read()


def measure(port: int) -> dict:
    new = [timed(lambda: request(http.client.HTTPConnection("127.0.0.1", port, timeout=30), "GET", "/health"))
           for _ in range(ROUNDS)]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    request(conn, "GET", "/health")
    reused = [timed(lambda: request(conn, "GET", "/health")) for _ in range(ROUNDS)]
    two_mb = [timed(lambda: request(conn, "GET", "/big?bytes=2000000")) for _ in range(10)]
    down = timed(lambda: request(conn, "GET", "/big?bytes=50000000"))
    up = timed(lambda: request(conn, "POST", "/sink", b"x" * 50_000_000))
    conn.close()
    return {"health new (ms)": statistics.median(new) * 1000,
            "health reused (ms)": statistics.median(reused) * 1000,
            "2 MB JSON (ms)": statistics.median(two_mb) * 1000, "50 MB down (MB/s)": 50 / down,
            "50 MB up (MB/s)": 50 / up}


def openssh_forward(sshd: SshServer, ssh_port: int, remote_port: int, local_port: int) -> subprocess.Popen:
    return subprocess.Popen(["ssh", "-N", "-R", f"127.0.0.1:{remote_port}:127.0.0.1:{local_port}",
                             "-p", str(ssh_port), "-i", str(sshd.client_key),
                             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                             "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR",
                             "root@127.0.0.1"], stdin=subprocess.DEVNULL)


def run() -> list[str]:
    rows = ["| path | measure | OpenSSH ssh -N -R | ours | ours / OpenSSH |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="tunnel-bench-") as tmp:
        workdir = Path(tmp)
        target_port = free_port()
        target = subprocess.Popen([sys.executable, "-m", "tests.tunnel.target_app", str(target_port)],
                                  cwd=ROOT)
        sshd = SshServer(workdir).start()
        try:
            wait_http(target_port, 20)
            for label, delay in (("loopback", 0.0), ("50 ms RTT", 0.025)):
                proxy_port = LatencyProxy(sshd.port, delay).port if delay else sshd.port
                with open(sshd.known_hosts, "a") as known:
                    known.write(sshd.known_hosts.read_text().splitlines()[0]
                                .replace(str(sshd.port), str(proxy_port)) + "\n")
                openssh_remote = free_port()
                openssh = openssh_forward(sshd, proxy_port, openssh_remote, target_port)
                wait_http(openssh_remote, 30)
                theirs = measure(openssh_remote)
                openssh.terminate()
                openssh.wait(timeout=10)
                (workdir / label.replace(" ", "")).mkdir()
                ours_tunnel = Tunnel(workdir / label.replace(" ", ""), sshd, target_port,
                                     ssh={"port": proxy_port},
                                     liveness={"interval": 5.0, "health_interval": 60.0})
                ours_tunnel.start()
                wait_http(ours_tunnel.remote_port, 30)
                ours = measure(ours_tunnel.remote_port)
                ours_tunnel.stop()
                for key in theirs:
                    rows.append(f"| {label} | {key} | {theirs[key]:.1f} | {ours[key]:.1f} | "
                                f"{ours[key] / theirs[key]:.2f}x |")
        finally:
            sshd.stop()
            target.terminate()
            target.wait(timeout=10)
    return rows


if __name__ == "__main__":
    print("\n".join(run()))
