"""python -m daemon.trajectories [--config FILE | --dir DIR] list | show ID | export [--out FILE]

list: the newest recorded episodes; show: one episode's summary and steps; export: one JSON line per episode
(a chat with image paths, score, outcome) that a training or analysis script can load.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .. import config
from ..ops.launch import daemon_config
from .store import (
    action_line,
    episode_dirs,
    find_episode,
    list_episodes,
    read_json,
    read_steps,
    training_record,
)

CHECKOUT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m daemon.trajectories", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", help="the daemon's config (its trajectories.dir); default: the one "
                       "supervisord runs (python -m daemon.ops.launch daemon --show)")
    where.add_argument("--dir", help="a trajectories folder")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the newest episodes")
    listing.add_argument("--limit", type=int, default=50)
    show = commands.add_parser("show", help="one episode")
    show.add_argument("episode_id")
    export = commands.add_parser("export", help="JSON lines for training or analysis")
    export.add_argument("--out", help="output file (default: stdout)")
    export.add_argument("--outcome", action="append", help="only these outcomes (repeatable), e.g. scored")
    return parser.parse_args(argv)


def trajectories_root(args: argparse.Namespace) -> Path:
    if args.dir:
        return Path(args.dir)
    try:
        settings = config.load(args.config or daemon_config(CHECKOUT)[0])
    except config.ConfigError as exc:
        sys.exit(f"config error: {exc}")
    return Path(settings.raw["trajectories"]["dir"])


def show_list(root: Path, limit: int) -> None:
    print(f"{'started (UTC)':20} {'episode':17} {'env':>3} {'steps':>5} {'score':>6} {'outcome':13} task")
    for meta in list_episodes(root, limit):
        started = _utc(meta.get("started"))
        score = "-" if meta.get("score") is None else f"{meta['score']:.2f}"
        print(f"{started:20} {meta.get('episode_id', '?'):17} {meta.get('env_idx', '?'):>3} "
              f"{meta.get('steps', '-'):>5} {score:>6} {meta.get('outcome', '?'):13} "
              f"{meta.get('task_id', '')}")


def show_episode(root: Path, episode_id: str) -> int:
    folder = find_episode(root, episode_id)
    if folder is None:
        print(f"no recorded episode {episode_id!r} under {root}", file=sys.stderr)
        return 1
    meta = read_json(folder / "episode.json") or {}
    print(f"{folder}\n{json.dumps({k: v for k, v in meta.items() if k != 'prompt'}, indent=1)}")
    for step in read_steps(folder):
        total = (step.get("timings") or {}).get("total")
        took = f"{total * 1000:.0f} ms" if total is not None else "-"
        action = action_line(step.get("history_text") or "")
        print(f"step {step.get('step')}: {action[:90]!r} reward {step.get('format_reward')} {took}"
              f"{' error: ' + step['error'] if step.get('error') else ''}")
    return 0


def export(root: Path, out, outcomes: list[str] | None) -> int:
    count = 0
    for folder in episode_dirs(root):
        record = training_record(folder)
        if record is None or (outcomes and record["outcome"] not in outcomes):
            continue
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    print(f"exported {count} episode(s)", file=sys.stderr)
    return 0


def _utc(when) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when)) if isinstance(when, (int, float)) else "-"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = trajectories_root(args)
    if args.command == "list":
        show_list(root, args.limit)
        return 0
    if args.command == "show":
        return show_episode(root, args.episode_id)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            return export(root, out, args.outcome)
    return export(root, sys.stdout, args.outcome)


if __name__ == "__main__":
    sys.exit(main())
