"""python -m daemon.ops.launchd install|uninstall|print: a macOS LaunchAgent that runs supervisord at login.

The agent runs `<checkout>/.venv/bin/supervisord -n -c <checkout>/supervisord.conf` (foreground, as launchd
wants) with absolute paths, restarts it if it dies abnormally, and logs launchd-level output to
run/logs/launchd.log.
After `install`:   launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/<label>.plist
Before `uninstall`: launchctl bootout gui/$(id -u)/<label>
"""
from __future__ import annotations

import argparse
import os
import plistlib
import sys
from pathlib import Path

from daemon.atomic import write_atomic

DEFAULT_LABEL = "org.osworld.env-daemon"
AGENTS_DIR = Path.home() / "Library" / "LaunchAgents"
# launchd starts agents with a bare PATH; vmrun lives in the Fusion bundle (the daemon also looks there).
AGENT_PATH = ":".join(["/usr/local/bin", "/opt/homebrew/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin",
                       "/Applications/VMware Fusion.app/Contents/Library"])
# bootout SIGTERMs supervisord and SIGKILLs it after ExitTimeOut (launchd's default is 20 s): leave room for
# supervisord.conf's stopwaitsecs (90 s) so the daemon can drain.
EXIT_TIMEOUT = 120


class SetupError(Exception):
    """The checkout cannot be run by launchd; the message says what to do."""


def agent(checkout: Path, label: str) -> dict:
    """The LaunchAgent property list for this checkout."""
    supervisord = checkout / ".venv" / "bin" / "supervisord"
    conf = checkout / "supervisord.conf"
    if not conf.is_file():
        raise SetupError(f"{conf} not found: "
                         "pass --checkout with the root of the osworld-env-daemon checkout")
    if not os.access(supervisord, os.X_OK):
        raise SetupError(f"{supervisord} not found: "
                         f"run `bash scripts/start.sh` once in {checkout} to install")
    log = str(checkout / "run" / "logs" / "launchd.log")
    return {
        "Label": label,
        "ProgramArguments": [str(supervisord), "-n", "-c", str(conf)],
        "WorkingDirectory": str(checkout),
        "EnvironmentVariables": {"PATH": AGENT_PATH},
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},   # restart a crashed supervisord, not one stopped on purpose
        "ThrottleInterval": 30,
        "ExitTimeOut": EXIT_TIMEOUT,
        "StandardOutPath": log,
        "StandardErrorPath": log,
    }


def install(checkout: Path, label: str, agents_dir: Path) -> Path:
    plist = agent(checkout, label)
    # launchd opens the log before supervisord runs, and creates no folder for it
    (checkout / "run" / "logs").mkdir(parents=True, exist_ok=True)
    path = agents_dir / f"{label}.plist"
    write_atomic(path, plistlib.dumps(plist), mode=0o644)
    return path


def uninstall(label: str, agents_dir: Path) -> Path | None:
    path = agents_dir / f"{label}.plist"
    if not path.exists():
        return None
    path.unlink()
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m daemon.ops.launchd", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["install", "uninstall", "print"])
    parser.add_argument("--checkout", type=Path, default=Path.cwd(),
                        help="checkout root (default: current directory)")
    parser.add_argument("--label", default=DEFAULT_LABEL)
    parser.add_argument("--agents-dir", type=Path, default=AGENTS_DIR, help="default: ~/Library/LaunchAgents")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    domain = f"gui/{os.getuid()}"
    try:
        if args.command == "print":
            sys.stdout.write(plistlib.dumps(agent(checkout, args.label)).decode())
        elif args.command == "install":
            path = install(checkout, args.label, args.agents_dir)
            print(f"wrote {path}\nstart it now and at every login:  launchctl bootstrap {domain} {path}\n"
                  f"stop supervisord first if scripts/start.sh started it:  bash scripts/stop.sh")
        else:
            path = uninstall(args.label, args.agents_dir)
            print(f"removed {path}" if path else f"no agent {args.label} in {args.agents_dir}")
            print(f"if it is loaded, stop it with:  launchctl bootout {domain}/{args.label}")
    except SetupError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
