"""Tunnel configuration: YAML in, validated settings out.

Every key lives in SCHEMA: its default, the check its value must pass and what it is for (DEFAULTS is the
plain mapping of the defaults). Every key is checked; errors name the file and the key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from daemon.config_schema import (
    Setting,
    a_path,
    check_settings,
    defaults_of,
    flag,
    integer,
    is_integer,
    log_level,
    merge_with_defaults,
    port,
    positive_number,
    rule,
    text,
)

_S = Setting
_HOST = text("must be a host name or address")


def _is_name(value) -> bool:
    return isinstance(value, str) and bool(value)


JUMP_KEYS = {"host": _is_name, "user": _is_name, "port": lambda v: is_integer(v) and 0 < v < 65536}


def _is_jump(value) -> bool:
    """None, or {host, port, user} of a bastion: host required, port and user optional."""
    return value is None or isinstance(value, dict) and "host" in value and all(
        key in JUMP_KEYS and JUMP_KEYS[key](item) for key, item in value.items())


SCHEMA = {
    "ssh": {
        "host": _S(None, text("must name the cluster's login host"), "the cluster's login host (required)"),
        "port": _S(22, port(), "sshd's port"),
        "user": _S(None, text("must name the user on that host"), "required"),
        "key_file": _S("~/.ssh/id_ed25519", a_path(), "the private key (key auth only)"),
        "passphrase_env": _S("OSWORLD_TUNNEL_PASSPHRASE", text("must name an environment variable"),
                             "the key's passphrase, when it has one, from this variable"),
        "known_hosts": _S("~/.ssh/known_hosts", a_path(), "the host keys to trust"),
        "strict_host_key": _S(True, flag(), "refuse unknown or changed host keys"),
        "connect_timeout": _S(15.0, positive_number(), "seconds to connect and authenticate"),
        "jump": _S(None, rule(_is_jump, "must be a mapping with at least 'host' (and optionally 'port' and "
                              "'user'), or absent"),
                   "optional {host, port, user}: connect through this host first"),
    },
    "forward": {
        "remote_host": _S("127.0.0.1", _HOST, "bound on the cluster"),
        "remote_port": _S(15001, port(), "bound on the cluster"),
        "local_host": _S("127.0.0.1", _HOST, "the daemon on this Mac"),
        "local_port": _S(18082, port(), "the daemon on this Mac"),
    },
    "liveness": {
        "interval": _S(5.0, positive_number(), "seconds between keepalive probes that need an answer"),
        "misses": _S(3, integer(1), "consecutive unanswered probes that mean the connection is dead"),
        "health_interval": _S(30.0, positive_number(), "seconds between GET /health through the forward"),
    },
    "backoff": {
        "initial": _S(1.0, positive_number(), "seconds before the first reconnect"),
        "max": _S(60.0, positive_number(), "the longest wait between reconnects (it doubles up to this)"),
    },
    "reclaim_stale_port": _S(True, flag(),
                             "end the user's own stale sshd session that still holds the remote port"),
    "window_size": _S(16 * 1024 * 1024, integer(1), "SSH channel window: WAN throughput (docs/tunnel.md)"),
    "status_file": _S("../run/tunnel-status.json", a_path(),
                      "state for operators, shown in the daemon's /health"),
    "log_level": _S("INFO", log_level(), "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
}
DEFAULTS = defaults_of(SCHEMA)
PATHS = (("ssh", "key_file"), ("ssh", "known_hosts"), ("status_file",))


class TunnelConfigError(Exception):
    """A configuration problem: the tunnel exits with the "do not restart" code."""


@dataclass(frozen=True)
class TunnelSettings:
    path: str
    raw: dict

    def __getitem__(self, key: str):
        return self.raw[key]


def load(path: str | os.PathLike) -> TunnelSettings:
    path = str(Path(path).resolve())
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TunnelConfigError(f"{path}: cannot read the tunnel config: {exc}") from exc
    if not isinstance(data, dict):
        raise TunnelConfigError(f"{path}: the top level must be a mapping of keys")
    merged = merge_with_defaults(path, DEFAULTS, data, error=TunnelConfigError)
    check_settings(path, SCHEMA, merged, error=TunnelConfigError)
    base = Path(path).parent
    for keys in PATHS:
        node = merged
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = str((base / os.path.expanduser(node[keys[-1]])).resolve())
    _validate_together(path, merged)
    return TunnelSettings(path, merged)


def _require(path: str, ok: bool, key: str, what: str) -> None:
    if not ok:
        raise TunnelConfigError(f"{path}: '{key}' {what}")


def _validate_together(path: str, c: dict) -> None:
    """What one key's check cannot see: the files named, and keys that bound each other."""
    ssh = c["ssh"]
    _require(path, os.path.isfile(ssh["key_file"]), "ssh.key_file", f"names no file: {ssh['key_file']}")
    _require(path, os.path.isfile(ssh["known_hosts"]) or not ssh["strict_host_key"], "ssh.known_hosts",
             f"names no file: {ssh['known_hosts']} "
             "(ssh once by hand to record the host key, or point it elsewhere)")
    _require(path, c["backoff"]["initial"] <= c["backoff"]["max"], "backoff",
             "needs 0 < initial <= max (seconds)")
