"""python -m daemon.tasks check DIR: which task files this install can run
(the check reset uses for its 422)."""
from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

from ..evaluation.admission import missing_capabilities


def check(folder: Path) -> int:
    files = sorted(p for p in folder.rglob("*.json")
                   if isinstance(_load(p), dict) and "evaluator" in _load(p))
    by_domain: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    reasons: collections.Counter = collections.Counter()
    runnable = 0
    for path in files:
        missing = missing_capabilities(_load(path))
        domain = path.parent.name
        by_domain[domain][0] += not missing
        by_domain[domain][1] += 1
        reasons.update(missing)
        runnable += not missing
        print(f"{domain}/{path.stem}: {'runnable' if not missing else 'refused: ' + '; '.join(missing)}")
    print("\nby domain:")
    for domain, (ok, total) in sorted(by_domain.items()):
        print(f"  {domain}: {ok}/{total}")
    print("\nmost common missing pieces:")
    for reason, count in reasons.most_common(10):
        print(f"  {count:4d}  {reason}")
    print(f"\nrunnable: {runnable}/{len(files)}")
    return 0


_cache: dict[Path, object] = {}


def _load(path: Path):
    if path not in _cache:
        try:
            _cache[path] = json.loads(path.read_text())
        except ValueError:
            _cache[path] = None
    return _cache[path]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m daemon.tasks")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="verdict for each task file in DIR").add_argument("dir", type=Path)
    args = parser.parse_args()
    if not args.dir.is_dir():
        sys.exit(f"not a folder: {args.dir}")
    sys.exit(check(args.dir))


if __name__ == "__main__":
    main()
