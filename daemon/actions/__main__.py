"""python -m daemon.actions: JSON lines {"prediction", "screen"?} on stdin → one JSON answer line each."""
from __future__ import annotations

import json
import sys

from . import ActionOptions, compile_prediction


def answer(line: str) -> dict:
    try:
        request = json.loads(line)
        prediction = request["prediction"]
        screen = tuple(request.get("screen") or ActionOptions.screen)
        if not isinstance(prediction, str) or len(screen) != 2 or not all(isinstance(v, int) for v in screen):
            raise ValueError("'prediction' must be a string and 'screen' [width, height] integers")
    except (ValueError, KeyError, TypeError) as exc:
        return {"ok": False, "error": f"bad input line: {exc}"}
    return compile_prediction(prediction, ActionOptions(screen=screen)).to_json()


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(answer(line), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
