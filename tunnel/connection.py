"""One SSH connection to the cluster carrying the reverse forward remote_port → local_port.

What the plain `ssh -R` gets wrong and this does on purpose (see ../shared tunnel notes in docs/tunnel.md):
- the forward's handler is installed before the server accepts the forward: no early connection is rejected;
- one trivial command runs on the connection, which makes sshd turn Nagle off (a 40 ms stall otherwise);
- "forwarding denied" because a stale session of ours still holds the port is repaired by ending that session.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import socket
import time

import paramiko

from .pump import Pumps

log = logging.getLogger("tunnel")


class FatalTunnelError(Exception):
    """Configuration, authentication or host-key problems: retrying cannot help, a person must act."""


class TransientTunnelError(Exception):
    """Anything that may pass: network, server restarts, a port still held."""


def fingerprint(key: paramiko.PKey) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


class StrictHostKeys(paramiko.MissingHostKeyPolicy):
    def __init__(self, known_hosts: str):
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):
        raise FatalTunnelError(f"host key of {hostname} ({key.get_name()} {fingerprint(key)}) is not in "
                               f"{self.known_hosts}; check the fingerprint with the cluster's admins, then "
                               f"add it (e.g. ssh-keyscan -p PORT HOST >> {self.known_hosts})")


def _load_key(path: str, passphrase_env: str) -> paramiko.PKey:
    passphrase = os.environ.get(passphrase_env) or None
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key_file(path, password=passphrase)
        except paramiko.PasswordRequiredException as exc:
            raise FatalTunnelError(f"{path} is encrypted: set its passphrase in ${passphrase_env}") from exc
        except (paramiko.SSHException, ValueError):
            continue
    raise FatalTunnelError(f"{path} is not a private key paramiko can read (ed25519, ecdsa or rsa)")


class Connection:
    def __init__(self, settings, stop):
        self.settings = settings
        self.ssh, self.forward = settings["ssh"], settings["forward"]
        self.stop = stop
        self.clients: list[paramiko.SSHClient] = []
        self.transport: paramiko.Transport | None = None
        self.pumps = Pumps(self.forward["local_host"], self.forward["local_port"], stop)

    # --- connect -------------------------------------------------------------------------------------------
    def open(self) -> None:
        sock = None
        jump = self.ssh["jump"]
        if jump:
            hop = self._client(jump["host"], jump.get("port", 22), jump.get("user", self.ssh["user"]), None)
            sock = hop.get_transport().open_channel("direct-tcpip", (self.ssh["host"], self.ssh["port"]),
                                                    ("127.0.0.1", 0), timeout=self.ssh["connect_timeout"])
        client = self._client(self.ssh["host"], self.ssh["port"], self.ssh["user"], sock)
        self.transport = client.get_transport()
        self.transport.set_keepalive(0)
        self.transport.window_size = self.settings["window_size"]
        self._run("true")                 # makes sshd set TCP_NODELAY on its side (no 40 ms stalls)
        self._request_forward()

    def _client(self, host: str, port: int, user: str, sock) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        known = self.ssh["known_hosts"]
        if os.path.isfile(known):
            client.load_host_keys(known)
        client.set_missing_host_key_policy(StrictHostKeys(known) if self.ssh["strict_host_key"]
                                           else paramiko.WarningPolicy())
        self.clients.append(client)
        try:
            timeout = self.ssh["connect_timeout"]
            client.connect(host, port, user, pkey=_load_key(self.ssh["key_file"], self.ssh["passphrase_env"]),
                           sock=sock, timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
                           allow_agent=False, look_for_keys=False)
        except paramiko.BadHostKeyException as exc:
            raise FatalTunnelError(f"host key of {host} CHANGED: got {fingerprint(exc.key)}, {known} expects "
                                   f"{fingerprint(exc.expected_key)}; do not connect until the admins "
                                   "confirm it") from exc
        except paramiko.AuthenticationException as exc:
            raise FatalTunnelError(f"{user}@{host}:{port} refused key {self.ssh['key_file']}: {exc}; add its "
                                   "public key to ~/.ssh/authorized_keys on the cluster") from exc
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise TransientTunnelError(f"cannot connect to {host}:{port}: {exc}") from exc
        return client

    def _run(self, command: str, timeout: float = 15.0) -> str:
        channel = self.transport.open_session(timeout=timeout)
        channel.settimeout(timeout)
        try:
            channel.exec_command(command)
            output = b""
            while chunk := channel.recv(65536):
                output += chunk
            return output.decode("utf-8", "replace")
        finally:
            channel.close()

    def _request_forward(self) -> None:
        host, port = self.forward["remote_host"], self.forward["remote_port"]
        self.transport._tcp_handler = self.pumps.handler     # before the request: no early connection refused
        for attempt in range(3):
            try:
                self.transport.request_port_forward(host, port, handler=self.pumps.handler)
                return
            except paramiko.SSHException as exc:
                if not self.settings["reclaim_stale_port"] or not self._someone_listens(host, port):
                    raise TransientTunnelError(f"the server denied forwarding {host}:{port} ({exc}) and "
                                               "nothing listens there: sshd's AllowTcpForwarding/"
                                               "PermitListen forbid it") from exc
                self._reclaim(port)
                time.sleep(0.5 * (attempt + 1))
        raise TransientTunnelError(f"{host}:{port} on the server is still held by another session")

    def _someone_listens(self, host: str, port: int) -> bool:
        try:
            channel = self.transport.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=5)
        except (paramiko.ChannelException, paramiko.SSHException, OSError):
            return False
        channel.close()
        return True

    def _reclaim(self, port: int) -> None:
        """End our own stale sshd session that still holds the port (the server cannot tell it died)."""
        listing = self._run(f"ss -ltnpH 'sport = :{port}' 2>/dev/null || fuser -n tcp {port} 2>&1")
        pids = sorted(set(re.findall(r"pid=(\d+)", listing))
                      or set(re.findall(r"\b(\d+)\b", listing.split(":")[-1])))
        if not pids:
            log.warning("port %d is held but no process of ours holds it (%r); waiting for sshd to reap it",
                        port, listing.strip()[:200])
            return
        log.warning("port %d held by stale session process(es) %s on the server: ending them", port,
                    ", ".join(pids))
        self._run(f"kill {' '.join(pids)}; sleep 0.5; kill -9 {' '.join(pids)} 2>/dev/null; true")

    # --- liveness ------------------------------------------------------------------------------------------
    def alive(self) -> bool:
        return self.transport is not None and self.transport.is_active()

    def health_through_forward(self, timeout: float) -> bool:
        """GET /health via the remote port: cluster side → our forward → the daemon, end to end."""
        try:
            channel = self.transport.open_channel("direct-tcpip", (self.forward["remote_host"],
                                                                   self.forward["remote_port"]),
                                                  ("127.0.0.1", 0), timeout=timeout)
        except (paramiko.ChannelException, paramiko.SSHException, OSError, EOFError):
            return False
        try:
            channel.settimeout(timeout)
            channel.sendall(b"GET /health HTTP/1.0\r\nHost: tunnel-probe\r\n\r\n")
            return channel.recv(12).startswith(b"HTTP/1.")
        except (OSError, socket.timeout, EOFError):
            return False
        finally:
            channel.close()

    def close(self) -> None:
        for client in reversed(self.clients):
            client.close()
        self.clients.clear()
