"""`python -m daemon.actions` answers one JSON line per input line, as users run it."""
import json
import subprocess
import sys


def test_cli_answers_each_line():
    lines = [{"prediction": "Action: click(start_box='(966,546)')", "screen": [1920, 1080]},
             {"prediction": "no action here"}]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    out = subprocess.run([sys.executable, "-m", "daemon.actions"], input=stdin, capture_output=True,
                         text=True, timeout=60, check=True).stdout.splitlines()
    first, second, third = map(json.loads, out)
    assert first["ok"] and first["actions"][0]["type"] == "click" and first["code"] \
        and first["terminal"] is None
    assert (second["ok"], second["format_reward"], second["terminal"]) == (False, -1.0, "DONE")
    assert third["ok"] is False and "bad input line" in third["error"]
