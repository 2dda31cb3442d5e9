"""Inputs derived from the real task files' rules: for each task whose expected value is a `rule`, a result
that satisfies it and one that does not, for the metrics whose rules say what a passing result is."""
from __future__ import annotations

import json

from tests.evaluation.builders import write
from tests.evaluation.osworld_tasks import TASKS

from .harness import case


def satisfying(metric: str, rules: dict, passing: bool):
    """A result (or a builder of a result file) that the rules accept, or, with passing False, one they
    reject."""
    if metric == "exact_match":
        return rules["expected"] if passing else f"{rules['expected']}!"
    if metric == "check_include_exclude":
        include, exclude = rules.get("include", []), rules.get("exclude", [])
        return " ".join(include) if passing else " ".join(include + exclude) if exclude else ""
    if metric == "is_extension_installed":
        listed = rules["expected"] if passing == (rules["type"] == "contain") else "other.extension"
        return f"ms-python.python\n{listed}\n"
    if metric == "check_json_settings":
        settings = rules["expected"] if passing else {key: [value] for key,
                                                      value in rules["expected"].items()}
        return lambda tmp: write(tmp / "settings.json", json.dumps(settings))
    if metric == "check_direct_json_object" and isinstance(rules.get("expected"), dict):
        expected = rules["expected"]
        if rules.get("expect_in_result"):
            expected = {key: value[0] if isinstance(value, list) and value else value for key,
                        value in expected.items()}
        return expected if passing else {key: f"{value}?" for key, value in expected.items()}
    return satisfying_file(metric, rules, passing)


def satisfying_file(metric: str, rules: dict, passing: bool):
    """The file-reading metrics: a builder of a file the rules accept (or reject)."""
    if metric == "file_contains":
        words = rules["expected"] if passing else rules["expected"][:-1]
        return lambda tmp: write(tmp / "out.txt", "\n".join(f"{word} 1" for word in words) + "\n")
    if metric == "check_line_number":
        count = int(rules["expected"]) + (0 if passing else 1)
        return lambda tmp: write(tmp / "out.txt",
                                 "header\n" + "".join(f"10:00:{n:02d} row\n" for n in range(count)))
    if metric == "is_in_list":
        return ["/tmp/other", rules["expected"]] if passing else ["/tmp/other"]
    if metric == "match_in_list":
        return rules["expected"][-1] if passing else "none of them"
    if metric == "check_gnome_favorite_apps":
        return repr(rules["expected"] if passing else rules["expected"][:-1])
    if metric == "check_json_keybindings":
        binding = rules["expected"] if passing else {**rules["expected"], "when": "never"}
        return lambda tmp: write(tmp / "keybindings.json", json.dumps([binding]))
    if metric == "check_thunderbird_prefs" and all(r["method"] == "eq" for r in rules.get("expect",
                                                                                          {}).values()):
        prefs = {key: rule["ref"] if passing else not rule["ref"] if isinstance(rule["ref"], bool) else "x"
                 for key, rule in rules.get("expect", {}).items()}
        return lambda tmp: write(tmp / "prefs.js",
                                 "".join(f"user_pref({json.dumps(key)}, {json.dumps(value)});\n"
                                                         for key, value in prefs.items()))
    if metric == "check_config_status":
        value = rules["value"] if passing else "nothing"
        return lambda tmp: write(tmp / "gimprc", f"# GIMP gimprc\n({rules['key']} {value})\n")
    return None


def real_rules(metrics, result_for) -> list:
    """For each real task scoring one of `metrics` by a rule: cases with the passing and the failing result
    that `result_for(metric, rules, passing)` makes (None: no case)."""
    if not TASKS.is_dir():
        return []
    cases = []
    for path in sorted(TASKS.rglob("*.json")):
        evaluator = json.loads(path.read_text()).get("evaluator") or {}
        funcs, expecteds = evaluator.get("func"), evaluator.get("expected")
        funcs, expecteds = (funcs, expecteds) if isinstance(funcs, list) else ([funcs], [expecteds])
        for index, (metric, expected) in enumerate(zip(funcs, expecteds if isinstance(expecteds,
                                                                                      list) else [])):
            if metric not in metrics or not (isinstance(expected, dict) and expected.get("type") == "rule"):
                continue
            for passing in (True, False):
                result = result_for(metric, expected["rules"], passing)
                if result is not None:
                    which = f"-{index}" if len(funcs) > 1 else ""
                    label = f"task-{path.stem[:8]}{which}-{'pass' if passing else 'fail'}"
                    cases.append(case(metric, label, lambda tmp, result=result, rules=expected["rules"]: (
                        [result(tmp) if callable(result) else result, rules], {})))
    return cases


CASES = real_rules(("exact_match", "check_include_exclude", "is_extension_installed", "check_json_settings",
                    "check_direct_json_object", "file_contains", "check_line_number", "is_in_list",
                    "match_in_list",
                    "check_gnome_favorite_apps", "check_json_keybindings", "check_thunderbird_prefs",
                    "check_config_status"), satisfying)
