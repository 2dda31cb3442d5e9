"""A temp 'checkout' in which the real supervisord runs the repo's own supervisord.conf (tests and bench/).

supervisord takes %(here)s from the -c path as given, so a temp directory holding a symlink to the checkout's
supervisord.conf (and to its .venv) gets its own run/ (socket, pid file, logs) and its own configs/, while the file
itself is the repo's, unedited. Its run/ holds only what git tracks there, as in a fresh clone, so supervisord
meets the directories a fresh checkout has, no more. Loopback only.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import paramiko

from tests.support import ROOT, free_port, fresh_ip_base

VENV = ROOT / ".venv"


def write_tunnel_config(path: Path, ssh_port: int, daemon_port: int) -> None:
    """A well-formed tunnel config whose SSH server does not exist (nothing listens on ssh_port)."""
    key = path.parent / "tunnel_key"
    if not key.exists():
        paramiko.RSAKey.generate(2048).write_private_key_file(str(key))
    (path.parent / "known_hosts").touch()
    path.write_text(json.dumps({
        "ssh": {"host": "127.0.0.1", "port": ssh_port, "user": "nobody", "key_file": str(key),
                "known_hosts": str(path.parent / "known_hosts")},
        "forward": {"remote_host": "127.0.0.1", "remote_port": 15001, "local_host": "127.0.0.1",
                    "local_port": daemon_port},
    }))


def tracked_files(folder: str) -> list[str]:
    """The files git tracks under folder of the checkout: what a fresh clone holds there."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", folder], cwd=ROOT, capture_output=True, check=True,
                            timeout=30).stdout.decode()
    return [name for name in listed.split("\0") if name]


def copy_tracked(here: Path, folder: str) -> None:
    for name in tracked_files(folder):
        (here / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, here / name)


def make_here(root: Path, port: int) -> Path:
    """A temp 'checkout' for supervisord: the repo's supervisord.conf and .venv (symlinks), own configs and run/."""
    here = root / "here"
    (here / "configs").mkdir(parents=True)
    copy_tracked(here, "run")
    (here / "supervisord.conf").symlink_to(ROOT / "supervisord.conf")
    (here / ".venv").symlink_to(VENV)
    sim = {"simulator": {"home": "../run/sim", "count": 4, "preset": "fast", "ip_base": fresh_ip_base()},
           "server": {"port": port, "drain_seconds": 20}, "episode": {"settle_seconds": 0.0}}
    (here / "configs" / "sim.yaml").write_text(json.dumps(sim))
    write_tunnel_config(here / "configs" / "tunnel.yaml", free_port(), port)
    return here
