"""python -m cluster status DAEMON... | smoke DAEMON... --episodes N --steps K [--ray] [--json]

A DAEMON is a URL: the token in its /t/<token> prefix, or from --token-file. Tokens are never printed.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys

from .address import AddressError, parse_daemons
from .fleet import DaemonState, EnvFleet
from .remote_env import RetryBudget, Timeouts
from .rollout import LocalEnvs
from .smoke import run_smoke

ENV_COLUMNS = ("ENV", "PHASE", "EPISODE", "STEPS", "WARM", "BUSY", "LAST ERROR")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        daemons = parse_daemons(args.daemons, args.token_file)
    except AddressError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fleet = EnvFleet(daemons, recheck_seconds=args.recheck)
    try:
        return status(fleet, args.json) if args.command == "status" else smoke(fleet, args)
    finally:
        fleet.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cluster", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("status", "every env on every daemon, and each tunnel"),
                       ("smoke", "short scripted episodes over every free env, then a summary")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("daemons", nargs="+", metavar="DAEMON", help="http://HOST:PORT[/t/TOKEN]")
        command.add_argument("--token-file", help="file holding the token of the daemons without /t/<token>")
        command.add_argument("--json", action="store_true", help="one JSON object on stdout")
        command.add_argument("--recheck", type=float, default=5.0,
                             help="seconds between health probes of a daemon")
    smoke_command = commands.choices["smoke"]
    smoke_command.add_argument("--episodes", type=int, default=8, help="episodes in all (default 8)")
    smoke_command.add_argument("--steps", type=int, default=3,
                               help="clicks per episode before finished (default 3)")
    smoke_command.add_argument("--ray", action="store_true", help="run each env in a Ray actor (ray.init: "
                               "RAY_ADDRESS or a local Ray)")
    smoke_command.add_argument("--lease-wait", type=float, default=300.0, help="seconds an episode waits for "
                               "a free env before it is masked (default 300)")
    smoke_command.add_argument("--retry-seconds", type=float, default=60.0, help="retry budget per request")
    return parser


# --- status -------------------------------------------------------------------------------------------------
def status(fleet: EnvFleet, as_json: bool) -> int:
    daemons = fleet.status()
    if as_json:
        print(json.dumps({"daemons": [_status_dict(d) for d in daemons]}))
    else:
        for daemon in daemons:
            _print_daemon(daemon)
    return 0 if all(d.up for d in daemons) else 1


def _status_dict(daemon: DaemonState) -> dict:
    return {"url": daemon.address.display, "up": daemon.up, "error": daemon.error, "tunnel": daemon.tunnel,
            "envs": daemon.envs}


def _print_daemon(daemon: DaemonState) -> None:
    if not daemon.up:
        print(f"{daemon.address.display}  DOWN  {daemon.error}\n")
        return
    print(f"{daemon.address.display}  up  {len(daemon.envs)} env(s)  tunnel: {_tunnel_text(daemon.tunnel)}")
    rows = [ENV_COLUMNS] + [(str(env.get("env_idx")), str(env.get("phase")), env.get("episode_id") or "-",
                             str(env.get("steps", 0)), "yes" if env.get("warm") else "no",
                             env.get("busy") or "-", (env.get("last_error") or "-")[:80])
                            for env in daemon.envs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(ENV_COLUMNS))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print()


def _tunnel_text(tunnel: dict | None) -> str:
    if not tunnel:
        return "no tunnel status on this daemon"
    text = f"{tunnel.get('state')} ({tunnel.get('remote', '?')}, reconnects {tunnel.get('reconnects', 0)})"
    if tunnel.get("stale"):
        text += ", STALE: the tunnel process stopped updating its status"
    if tunnel.get("last_error"):
        text += f", last error: {tunnel['last_error']}"
    return text


# --- smoke --------------------------------------------------------------------------------------------------
def smoke(fleet: EnvFleet, args) -> int:
    if args.episodes < 1 or args.steps < 0:
        print("error: --episodes must be >= 1 and --steps >= 0", file=sys.stderr)
        return 2
    retry = RetryBudget(seconds=args.retry_seconds)
    envs = _ray_envs(retry) if args.ray else LocalEnvs(Timeouts(), retry)
    try:
        summary = run_smoke(fleet, envs, args.episodes, args.steps, args.lease_wait)
    finally:
        envs.close()
    summary["ray"] = bool(args.ray)
    if args.json:
        print(json.dumps(summary))
    else:
        _print_summary(summary)
    return 0 if summary["failed"] == 0 and summary["ok"] > 0 else 1


def _ray_envs(retry: RetryBudget):
    import ray  # only --ray needs Ray installed (the `cluster` extra)

    from .ray_rollout import RayEnvs
    ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
             ignore_reinit_error=True)
    return RayEnvs(Timeouts(), retry)


def _print_summary(summary: dict) -> None:
    print(f"{summary['episodes']} episodes: {summary['ok']} ok, {summary['masked']} masked, "
          f"{summary['failed']} failed, on {summary['envs_used']} env(s) in {summary['wall_seconds']} s")
    print(f"{summary['episodes_per_min']} episodes/min; step p50 {summary['step_p50_ms']} ms, "
          f"p95 {summary['step_p95_ms']} ms; env utilization {summary['env_utilization']:.0%}")
    for url, counts in summary["per_daemon"].items():
        print(f"  {url}: {counts['ok']} ok, {counts['masked']} masked")
    for code, count in summary["env_errors"].items():
        print(f"  masked by {code}: {count}")
    for failure in summary["failures"]:
        print(f"  FAILED {failure}")


if __name__ == "__main__":
    sys.exit(main())
