"""python -m tunnel --config FILE: keep `ssh -R remote_port:local_host:local_port` alive for weeks.

Exit codes: 0 after SIGTERM/SIGINT; 78 (EX_CONFIG) for configuration, authentication and host-key errors,
which supervisord is told not to restart. Transient failures never end the process: they are retried inside.
Without a config file the process waits for one, calmly (tunnel/unconfigured.py), rather than ending.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from daemon import logs
from daemon.config_schema import CONFIG_ERROR

from .config import TunnelConfigError, load
from .connection import FatalTunnelError
from .manager import TunnelManager
from .unconfigured import wait_for_config


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tunnel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    logs.setup()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if not wait_for_config(args.config, stop):
        sys.exit(0)
    try:
        settings = load(args.config)
    except TunnelConfigError as exc:
        print(f"tunnel config error: {exc}", file=sys.stderr, flush=True)
        sys.exit(CONFIG_ERROR)
    logs.setup(settings["log_level"])
    manager = TunnelManager(settings, stop)
    try:
        sys.exit(manager.run())
    except FatalTunnelError as exc:
        print(f"tunnel cannot run: {exc}", file=sys.stderr, flush=True)
        sys.exit(CONFIG_ERROR)


if __name__ == "__main__":
    main()
