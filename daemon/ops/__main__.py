"""python -m daemon.ops token --config FILE [--url http://127.0.0.1:15001]: the line to paste into the
cluster's config so that its client sends the daemon's token (created here when the daemon never ran yet).

The token is a secret: the line goes to stdout only, for the operator to copy; never into a shared file or a
log.
"""
from __future__ import annotations

import argparse
import sys

from daemon import config
from daemon.config_schema import CONFIG_ERROR
from daemon.http import auth
from tunnel.config import DEFAULTS as TUNNEL_DEFAULTS

TUNNEL_URL = f"http://127.0.0.1:{TUNNEL_DEFAULTS['forward']['remote_port']}"   # the tunnel on the login node


def remote_server_url(settings: config.Settings, base_url: str) -> str:
    token = auth.load_or_create_token(settings.server["auth_token_file"])
    return f"{base_url.rstrip('/')}/t/{token}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daemon.ops", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print the remote_server_url line with the daemon's token")
    token.add_argument("--config", required=True,
                       help="the daemon's YAML config (its server.auth_token_file)")
    token.add_argument("--url", default=TUNNEL_URL, help=f"how the cluster reaches the daemon ({TUNNEL_URL})")
    args = parser.parse_args(argv)
    try:
        url = remote_server_url(config.load(args.config), args.url)
    except (config.ConfigError, auth.TokenFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return CONFIG_ERROR
    print(f"remote_server_url: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
