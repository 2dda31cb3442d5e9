"""Setup steps, getters, metrics and OSWorld's scoring skeleton; the capability check on real task files."""
from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import types

import pytest

from daemon.evaluation.admission import missing_capabilities
from daemon.evaluation.context import TaskContext
from daemon.evaluation.evaluate import evaluate_task
from daemon.evaluation.getters import GETTERS, ResultMissing
from daemon.evaluation.host_policy import HostPolicy
from daemon.evaluation.metrics.general import (
    check_direct_json_object,
    check_include_exclude,
    check_json_settings,
    check_list,
    compare_csv,
    compare_text_file,
    exact_match,
    is_extension_installed,
    literal_match,
)
from daemon.evaluation.steps import run_setup
from daemon.simulator import provision, stop_all
from daemon.simulator.tasks import load_task, names
from tests.support import fresh_ip_base, wait_for_guest

from .fake_guest import FakeGuest
from .osworld_tasks import TASKS, tasks_scored_by


@pytest.fixture
def ctx(tmp_path):
    return TaskContext(task_id="t1", cache_dir=tmp_path / "cache", step_timeout=5)


# --- metrics ------------------------------------------------------------------------------------------------
def test_exact_match_and_include_exclude():
    assert exact_match("yes", {"expected": "yes"}) == 1.0 and exact_match("yes\n", {"expected": "yes"}) == 0.0
    rules = {"include": ["a", "b"], "exclude": ["z"]}
    assert check_include_exclude("a b c", rules) == 1.0
    assert check_include_exclude("a c", rules) == 0.0 and check_include_exclude("a b z", rules) == 0.0
    assert check_include_exclude(None, rules) == 0.0


def test_compare_text_file_options(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("Hello\n  World")
    b.write_text("hello world")
    assert compare_text_file(str(a), str(b)) == 0.0
    assert compare_text_file(str(a), str(b), ignore_blanks=True, ignore_case=True) == 1.0
    assert compare_text_file(None, str(b)) == 0.0


def test_literal_match_json_object_and_check_list(tmp_path):
    assert literal_match("Ab", "ab", ignore_case=True) == 1.0 and literal_match("Ab", "ab") == 0.0
    assert literal_match(["A", "b"], ["a", "b"], ignore_case=True, type="list") == 1.0
    assert check_direct_json_object('{"x": 1, "y": 2}', {"expected": {"x": 1}}) == 1.0
    assert check_direct_json_object({"x": 2}, {"expected": {"x": 1}}) == 0.0
    assert check_direct_json_object("not json", {"expected": {"x": 1}}) == 0.0
    listing = tmp_path / "list.txt"
    listing.write_text("alpha.txt\nbeta.csv\n")
    assert check_list(str(listing), {"expect": [r"\.txt$"], "unexpect": [r"\.tmp$"]}) == 1.0
    assert check_list(str(listing), {"expect": [r"\.doc$"]}) == 0.0


def test_compare_csv_strictness_case_and_several_expected_files(tmp_path):
    result, gold, other = tmp_path / "r.csv", tmp_path / "g.csv", tmp_path / "o.csv"
    result.write_bytes("\ufeffA,B \n1,2\n".encode("utf-8"))       # a BOM, as spreadsheet exports write
    gold.write_bytes("\ufeffa,b\n1,2\n".encode("utf-8"))
    other.write_text("x\n")
    assert compare_csv(str(result), str(gold)) == 0.0
    assert compare_csv(str(result), str(gold), strict=False, ignore_case=True) == 1.0
    assert compare_csv(str(result), [str(other), str(gold)], strict=False, ignore_case=True) == 1.0
    gold.write_text("a,b\n1,2\n")  # OSWorld reads UTF-8: a BOM on one side differs
    assert compare_csv(str(result), str(gold), strict=False, ignore_case=True) == 0.0
    assert compare_csv(None, str(gold)) == 0.0


def test_json_settings_and_extension_lists(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text('{"editor.fontSize": 14, "files.autoSave": "afterDelay"}')
    assert check_json_settings(str(settings), {"expected": {"editor.fontSize": 14}}) == 1.0
    assert check_json_settings(str(settings), {"expected": {"editor.fontSize": 12}}) == 0.0
    assert check_json_settings(str(settings), {"expected": {"missing.key": 1}}) == 0.0
    settings.write_text("{broken")
    assert check_json_settings(str(settings), {"expected": {"editor.fontSize": 14}}) == 0.0
    listing = "ms-python.python\nvscodevim.vim\n"
    assert is_extension_installed(listing, {"type": "contain", "expected": "ms-python.python"}) == 1.0
    assert is_extension_installed(listing, {"type": "not_contain", "expected": "vscodevim.vim"}) == 0.0
    # as OSWorld: "" in text
    assert is_extension_installed(listing, {"type": "contain", "expected": ""}) == 1.0
    assert is_extension_installed(None, {"type": "contain", "expected": "ms-python.python"}) == 0.0


def test_metrics_against_options_real_tasks_use():
    """Every exact_match / check_include_exclude task file uses rules this implementation reads."""
    seen = 0
    for _, _, evaluator in tasks_scored_by("exact_match", "check_include_exclude"):
        rules = evaluator["expected"]["rules"]
        if evaluator["func"] == "exact_match":
            assert exact_match(rules["expected"], rules) == 1.0
        else:
            text = " ".join(rules.get("include", []))
            assert check_include_exclude(text, rules) == (
                0.0 if any(x in text for x in rules.get("exclude", [])) else 1.0)
        seen += 1
    assert seen >= 20


# --- skeleton -----------------------------------------------------------------------------------------------
def test_infeasible_and_last_action_fail(ctx):
    guest = FakeGuest()
    assert evaluate_task({"evaluator": {"func": "infeasible"}}, guest, ctx, "FAIL") == 1.0
    assert evaluate_task({"evaluator": {"func": "infeasible"}}, guest, ctx, "DONE") == 0.0
    task = {"evaluator": {"func": "exact_match", "result": {"type": "rule", "rules": "x"},
                          "expected": {"type": "rule", "rules": {"expected": "x"}}}}
    assert evaluate_task(task, guest, ctx, "DONE") == 1.0
    assert evaluate_task(task, guest, ctx, "FAIL") == 0.0


def test_conj_and_or_and_a_missing_result_file(ctx):
    guest = FakeGuest(answer={"ls": "a.txt b.txt"})
    yes = {"type": "vm_command_line", "command": "ls", "shell": True}
    rules = lambda inc: {"type": "rule", "rules": {"include": [inc], "exclude": []}}     # noqa: E731
    both = {"func": ["check_include_exclude"] * 2, "result": [yes, yes],
            "expected": [rules("a.txt"), rules("c")]}
    assert evaluate_task({"evaluator": {**both, "conj": "and"}}, guest, ctx, None) == 0.0
    assert evaluate_task({"evaluator": {**both, "conj": "or"}}, guest, ctx, None) == 1.0
    missing = {"func": "compare_text_file", "result": {"type": "vm_file", "path": "/nope", "dest": "x"},
               "expected": {"type": "vm_file", "path": "/nope", "dest": "y"}}
    assert evaluate_task({"evaluator": missing}, guest, ctx, None) == 0.0


def test_vm_file_multi_gives_and_a_missing_one_is_none(ctx):
    guest = FakeGuest(files={"/a": b"A", "/c": b"C"})
    config = {"type": "vm_file", "multi": True, "path": ["/a", "/b", "/c"], "dest": ["a", "b", "c"],
              "gives": [0, 1, 2]}
    first, missing, third = GETTERS["vm_file"](guest, ctx, config)
    assert missing is None and open(first).read() == "A" and open(third).read() == "C"
    assert open(GETTERS["vm_file"](guest, ctx, {**config, "gives": [2]})).read() == "C"
    with pytest.raises(ResultMissing):
        GETTERS["vm_file"](guest, ctx, {"type": "vm_file", "path": "/b", "dest": "b"})


def test_postconfig_runs_before_the_getters(ctx):
    guest = FakeGuest(answer={"cat f": "saved"})
    task = {"evaluator": {"postconfig": [{"type": "activate_window", "parameters": {"window_name": "w"}}],
                          "func": "exact_match",
                          "result": {"type": "vm_command_line", "command": ["cat", "f"]},
                          "expected": {"type": "rule", "rules": {"expected": "saved"}}}}
    assert evaluate_task(task, guest, ctx, None) == 1.0
    assert guest.calls[0][0] == "activate_window"


# --- setup --------------------------------------------------------------------------------------------------
def test_execute_placeholders_and_stdout_capture(ctx):
    guest = FakeGuest(answer={"echo password 1920 540": "ok"})
    run_setup([{"type": "execute", "parameters": {"command": ["echo", "{CLIENT_PASSWORD}", "{SCREEN_WIDTH}",
                                                              "{SCREEN_HEIGHT_HALF}"], "stdout": "out.txt"}}],
              guest, ctx)
    assert (ctx.task_dir / "out.txt").read_text() == "ok"


def test_download_cache_is_shared_atomic_and_works_offline(tmp_path):
    policy = HostPolicy(file_url_roots=(str(tmp_path),))             # the test's files are its file:// root
    ctx = TaskContext(task_id="t1", cache_dir=tmp_path / "cache", policy=policy)
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 << 20))
    url = source.as_uri()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(ctx.fetch, [url] * 8))
    assert len(set(paths)) == 1 and paths[0].read_bytes() == source.read_bytes()
    assert not [p for p in paths[0].parent.iterdir() if p.name.startswith(".part-")]
    source.unlink()                                          # offline: the cache answers
    guest = FakeGuest()
    run_setup([{"type": "download", "parameters": {"files": [{"url": url, "path": "/home/user/x.bin"}]}}],
              guest, ctx)
    assert len(guest.files["/home/user/x.bin"]) == 3 << 20


# --- capability check ---------------------------------------------------------------------------------------
def test_missing_capabilities_names_what_is_missing():
    task = {"config": [{"type": "login", "parameters": {}}],
            "evaluator": {"func": ["compare_audios", "exact_match"], "result": [
                {"type": "vm_file", "path": "/a", "dest": "a"}, {"type": "googledrive_file"}]}}
    missing = missing_capabilities(task)
    assert missing == ["setup step 'login' (needs Google account credentials (not supported))",
                       "metric 'compare_audios' (needs librosa: too heavy a dependency, not supported)",
                       "getter 'googledrive_file' (not implemented)"]
    assert missing_capabilities(load_task("sign_letter")) == []
    unread_rule = {"evaluator": {"func": "check_direct_json_object", "result": {"type": "vm_command_line",
                                                                                 "command": "x"},
                                 "expected": {"type": "rule", "rules": {"expected": {}, "sort_keys": True}}}}
    assert missing_capabilities(unread_rule) == ["metric 'check_direct_json_object' rule 'sort_keys' "
                                                 "(not implemented)"]


def test_every_metric_refuses_the_options_it_does_not_read():
    """The same options check for every metric (it once covered only some): an option a metric does not
    declare would be silently ignored and the task scored wrongly."""
    def task(func, options):
        return {"evaluator": {"func": func, "options": options,
                              "result": {"type": "vm_command_line", "command": "x"},
                              "expected": {"type": "rule", "rules": {"expected": "y"}}}}
    assert missing_capabilities(task("exact_match", {"ignore_case": True})) == [
        "exact_match option 'ignore_case' (not implemented)"]
    assert missing_capabilities(task("literal_match", {"ignore_case": True, "type": "str"})) == []
    with_desktop_env = types.SimpleNamespace(evaluation={"desktop_env_python": "/opt/osworld/bin/python"})
    assert missing_capabilities(task("exact_match", {"ignore_case": True}), with_desktop_env) == []


def test_a_metric_that_would_run_vm_code_is_refused_even_with_desktop_env():
    task = {"evaluator": {"func": "check_python_file_by_test_suite",
                          "result": {"type": "vm_file", "path": "/home/user/a.py", "dest": "a.py"},
                          "expected": {"type": "cloud_file", "path": "https://example.com/t.py",
                                       "dest": "t.py"}}}
    refusal = ["metric 'check_python_file_by_test_suite' "
               "(refused: it would run code from the VM on the host)"]
    assert missing_capabilities(task) == refusal
    with_desktop_env = types.SimpleNamespace(evaluation={"desktop_env_python": "/opt/osworld/bin/python"})
    assert missing_capabilities(task, with_desktop_env) == refusal
    assert missing_capabilities({"evaluator": {**task["evaluator"], "func": "compare_videos"}},
                                with_desktop_env) == []


def test_tasks_check_cli_on_the_osworld_files():
    if not TASKS.is_dir():
        pytest.skip(f"OSWorld task files not found at {TASKS}")
    out = subprocess.run([sys.executable, "-m", "daemon.tasks", "check", str(TASKS)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    last = out.strip().splitlines()[-1]
    runnable, total = map(int, last.removeprefix("runnable: ").split("/"))
    assert last.startswith("runnable: ") and total == 369 and 0 < runnable < total


# --- on the simulated VMware --------------------------------------------------------------------------------
@pytest.fixture
def sim_guest(tmp_path):
    home = tmp_path / "sim"
    ip = fresh_ip_base()
    (vmx,) = provision(home, 1, "fast", ip)
    env = {**os.environ, "VMRUN_SIM_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "daemon.simulator.vmrun_cli", "-T", "fusion", "start", str(vmx)],
                   check=True, env=env, timeout=30)
    yield wait_for_guest(ip)
    stop_all(home)


def test_simulated_tasks_run_setup_and_score(sim_guest, ctx):
    assert names() == ["answer_only", "close_tab", "either_file", "sign_letter", "type_and_save"]
    letter = load_task("sign_letter")  # download, execute with placeholders, launch, postconfig, and
    run_setup(letter["config"], sim_guest, ctx)
    assert evaluate_task(letter, sim_guest, ctx, None) == 0.0          # not signed yet
    prefix = "import pyautogui; import time; pyautogui.FAILSAFE = False; "
    sim_guest.execute(["python", "-c", prefix + "pyautogui.write('Best regards', interval=0.0); "
                                                "pyautogui.press('enter')"])
    assert evaluate_task(letter, sim_guest, ctx, "DONE") == 1.0        # postconfig's ctrl+s saved it
    either = load_task("either_file")              # or
    run_setup(either["config"], sim_guest, ctx)
    assert evaluate_task(either, sim_guest, ctx, None) == 0.0
    sim_guest.execute("touch /home/user/work/finished.txt", shell=True)
    assert evaluate_task(either, sim_guest, ctx, None) == 1.0


def test_simulated_chrome_task_opens_tabs_through_devtools_and_scores_the_result(sim_guest, ctx):
    pytest.importorskip("websocket", reason="the chrome extra is not installed")
    task = load_task("close_tab")                  # launch Chrome, chrome_open_tabs; tabs and the address bar
    assert missing_capabilities(task) == []
    run_setup(task["config"], sim_guest, ctx)
    assert evaluate_task(task, sim_guest, ctx, None) == 0.0           # both tabs are open
    prefix = "import pyautogui; import time; pyautogui.FAILSAFE = False; "
    sim_guest.execute(["python", "-c", prefix + "pyautogui.hotkey('ctrl', 'w')"])
    assert evaluate_task(task, sim_guest, ctx, "DONE") == 1.0         # the active example.com tab is closed


def test_check_direct_json_object_list_order_and_failed_expectations():
    rules = {"expected": {"days": ["Mon", "Fri"]}, "ignore_list_order": True}
    assert check_direct_json_object({"days": ["Fri", "Mon"]}, rules) == 1.0
    assert check_direct_json_object({"days": ["Fri", "Tue"]}, rules) == 0.0
    assert check_direct_json_object({"days": None}, rules) == 0.0
    assert check_direct_json_object({"days": ["Fri", "Mon"]}, {"expected": {"days": ["Mon", "Fri"]}}) == 0.0
    assert check_direct_json_object({"x": "__EVALUATION_FAILED__"},
                                    {"expected": {"x": "__EVALUATION_FAILED__"}}) == 0
