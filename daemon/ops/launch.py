"""python -m daemon.ops.launch daemon|tunnel --checkout DIR [--show]: the one place that picks each program's
config.

supervisord.conf runs both programs through this module, which replaces itself (exec) with the real program,
so supervisord signals the program directly. The choice:
  daemon: $OSWORLD_DAEMON_CONFIG, else configs/vmware.yaml when vmrun is found and that file lists VMs,
          else configs/sim.yaml (simulated VMware); $OSWORLD_PORT overrides server.port.
  tunnel: $OSWORLD_TUNNEL_CONFIG, else configs/tunnel.yaml; without that file the tunnel waits for it, "not
          configured" (tunnel/unconfigured.py).
--show prints the choice and its reason, --port the daemon's port; neither starts anything (scripts/start.sh
uses them).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from daemon import config


def daemon_config(checkout: Path) -> tuple[Path, str]:
    """The daemon's config file and why it was chosen."""
    given = os.environ.get("OSWORLD_DAEMON_CONFIG")
    if given:
        return Path(given).resolve(), "set by OSWORLD_DAEMON_CONFIG"
    vmware = checkout / "configs" / "vmware.yaml"
    sim = checkout / "configs" / "sim.yaml"
    try:
        data = yaml.safe_load(vmware.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        return sim, f"{vmware} unreadable ({exc.__class__.__name__}): simulated VMware"
    vmrun = config.find_vmrun((data.get("vmware") or {}).get("vmrun"))
    if vmrun is None or os.path.basename(vmrun) == "vmrun-sim":
        return sim, "vmrun not found: simulated VMware"
    if not data.get("envs"):
        return sim, f"{vmware} lists no VMs: simulated VMware"
    return vmware, f"vmrun found at {vmrun} and {vmware.name} lists {len(data['envs'])} VMs"


def daemon_port(checkout: Path) -> int:
    """The port the daemon will listen on: $OSWORLD_PORT, else server.port of its config."""
    given = os.environ.get("OSWORLD_PORT")
    if given:
        return int(given)
    path, _ = daemon_config(checkout)
    return config.load(path).server["port"]


def tunnel_config(checkout: Path) -> tuple[Path, str]:
    """The tunnel's config file and why it was chosen."""
    given = os.environ.get("OSWORLD_TUNNEL_CONFIG")
    if given:
        return Path(given).resolve(), "set by OSWORLD_TUNNEL_CONFIG"
    return checkout / "configs" / "tunnel.yaml", "the default"


def daemon_argv(checkout: Path) -> list[str]:
    path, _ = daemon_config(checkout)
    argv = [sys.executable, "-m", "daemon", "--config", str(path)]
    port = os.environ.get("OSWORLD_PORT")
    return argv + ["--port", port] if port else argv


def tunnel_argv(checkout: Path) -> list[str]:
    path, _ = tunnel_config(checkout)
    return [sys.executable, "-m", "tunnel", "--config", str(path)]


PROGRAMS = {"daemon": (daemon_config, daemon_argv), "tunnel": (tunnel_config, tunnel_argv)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m daemon.ops.launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("program", choices=sorted(PROGRAMS))
    parser.add_argument("--checkout", type=Path, default=Path.cwd(),
                        help="the checkout root (supervisord's %%(here)s)")
    parser.add_argument("--show", action="store_true", help="print the chosen config and why; start nothing")
    parser.add_argument("--port", action="store_true", help="print the daemon's port; start nothing")
    args = parser.parse_args(argv)
    if args.port:
        try:
            print(daemon_port(args.checkout.resolve()))
        except (config.ConfigError, ValueError) as exc:
            sys.exit(f"cannot tell the daemon's port: {exc}; set OSWORLD_PORT or fix the config")
        return
    choose, build_argv = PROGRAMS[args.program]
    path, reason = choose(args.checkout.resolve())
    print(f"{args.program} config: {path} ({reason})", flush=True)
    if args.show:
        return
    command = build_argv(args.checkout.resolve())
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
