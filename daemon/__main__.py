"""python -m daemon --config FILE [--port N]: serve the env API for a pool of VMs (or simulated VMs)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from . import config, logs
from .config_schema import CONFIG_ERROR
from .evaluation.task_cache import CacheSweeper
from .http import auth
from .http.app import make_app
from .http.server import serve
from .observe import Observer
from .pool import Pool
from .trajectories import TrajectoryWriter


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m daemon", description=__doc__)
    parser.add_argument("--config", required=True, help="YAML config (see configs/)")
    parser.add_argument("--port", type=int, help="override server.port")
    return parser.parse_args()


def load_settings(args: argparse.Namespace) -> config.Settings:
    try:
        settings = config.load(args.config, {"server.port": args.port} if args.port else None)
        if config.find_vmrun(settings.vmware["vmrun"]) is None:
            raise config.ConfigError(f"{settings.path}: 'vmware.vmrun': vmrun not found "
                                     f"({settings.vmware['vmrun']}); install VMware Fusion, set the path, "
                                     "or use configs/sim.yaml")
    except config.ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        sys.exit(CONFIG_ERROR)
    return settings


def load_guard(settings: config.Settings) -> auth.Guard:
    """The token (created at first start), kept out of every log line; a loud warning when it is off."""
    try:
        token = auth.load_or_create_token(settings.server["auth_token_file"])
    except auth.TokenFileError as exc:
        print(f"config error: 'server.auth_token_file': {exc}", file=sys.stderr)
        sys.exit(CONFIG_ERROR)
    auth.redact_logs(token)
    auth.warn_if_open(settings.server["auth"], settings.server["host"], settings.server["port"])
    return auth.Guard(token, settings.server["auth"])


def start_simulator(settings: config.Settings) -> None:
    from . import simulator  # only a simulated setup loads the simulator
    sim = settings.simulator
    simulator.provision(sim["home"], sim["count"], sim["preset"], sim["ip_base"],
                        settings.vmware["guest_port"])
    os.environ["VMRUN_SIM_HOME"] = sim["home"]


def supervisor_view(settings: config.Settings):
    try:
        from .ops.supervisor import SupervisorView
    except ImportError:
        return None
    return SupervisorView(settings.raw["supervisor_socket"])


def trajectory_writer(settings: config.Settings) -> TrajectoryWriter | None:
    recording = settings.raw["trajectories"]
    if not recording["enabled"]:
        return None
    writer = TrajectoryWriter(recording["dir"], recording["max_bytes"], recording["max_age_days"],
                              recording["queue_items"], recording["queue_bytes"])
    writer.start()
    return writer


async def serve_until_signal(settings: config.Settings, guard: auth.Guard) -> None:
    pool = Pool(settings)
    pool.start()
    view = supervisor_view(settings)
    writer = trajectory_writer(settings)
    server = serve(make_app(pool, settings, guard, view, Observer(pool, settings, writer)), settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if view is not None:
        view.start()
    sweeper = CacheSweeper(settings.evaluation)
    sweeper.start()
    print(f"Startup: PROVIDER=vmware envs={len(pool)} simulated={settings.simulator is not None} "
          f"listening on {settings.server['host']}:{settings.server['port']}", file=sys.stderr,
          flush=True)
    await stop.wait()
    logging.getLogger("daemon").info("signal received: draining (at most %s s)",
                                     settings.server["drain_seconds"])
    await pool.drain_and_stop(settings.server["drain_seconds"])
    server.stop()
    sweeper.stop()
    if writer is not None:
        await asyncio.get_running_loop().run_in_executor(None, writer.close)
    if view is not None:
        view.stop()


def main() -> None:
    args = parse_args()
    settings = load_settings(args)
    logs.setup(settings.raw["log_level"])
    guard = load_guard(settings)
    if settings.simulator is not None:
        start_simulator(settings)
    asyncio.run(serve_until_signal(settings, guard))
    if settings.simulator is not None:
        from . import simulator
        simulator.stop_all(settings.simulator["home"])
    logging.getLogger("daemon").info("stopped cleanly")


if __name__ == "__main__":
    main()
