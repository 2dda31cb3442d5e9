"""Is a task file well formed? Checked at reset (a 400 naming the key) before any VM time, so a malformed
value never reaches a worker: the structure OSWorld's format requires, each setup step's and getter's
parameters by type, and the host policy (host_policy.py) for every host file name, upload path and URL a task
names.

Each checker takes (value, policy, limits) and returns what is wrong with the value, or None.
"""
from __future__ import annotations

import math
import posixpath

from ..config import DEFAULTS
from .host_policy import HostPolicy, name_problem, task_id_problem, upload_problem, url_problem


def sleep_seconds(value, limit: float = math.inf) -> float:
    """A sleep step's seconds: a finite number from 0 to the step timeout (ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= limit:
        raise ValueError(f"must be a number of seconds from 0 to {limit:g} (evaluation.step_timeout), got "
                         f"{value!r}")
    return float(value)


# --- value checkers -----------------------------------------------------------------------------------------
def _string(value, policy, limit):
    return None if isinstance(value, str) else f"must be a string, got {type(value).__name__}"


def _flag(value, policy, limit):
    """Read for its truth, as OSWorld does; real tasks also write "true" as a string."""
    ok = value is None or isinstance(value, (bool, int)) or value in ("true", "false", "True", "False")
    return None if ok else f"must be true or false, got {value!r}"


def _integer(value, policy, limit):
    ok = (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.lstrip(
        "-").isdigit())
    return None if ok else f"must be an integer, got {value!r}"


def _number(value, policy, limit):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return None if ok else f"must be a finite number, got {value!r}"


def _mapping(value, policy, limit):
    return None if isinstance(value, dict) else f"must be a JSON object, got {type(value).__name__}"


def _anything(value, policy, limit):
    return None


def _command(value, policy, limit):
    if isinstance(value, str) and value:
        return None
    if isinstance(value, list) and value and all(isinstance(part, (str, int, float))
                                                 and not isinstance(part, bool)
                                                 for part in value):
        return None
    return "must be a command: a string, or a non-empty list of strings"


def _seconds(value, policy, limit):
    try:
        sleep_seconds(value, limit)
    except ValueError as exc:
        return str(exc)
    return None


def _host_name(value, policy, limit):
    return name_problem(value)


def _host_url(value, policy, limit):
    return url_problem(value, policy)


def _upload(value, policy, limit):
    return upload_problem(value, policy)


def _list_of(check):
    def checker(value, policy, limit):
        if not isinstance(value, list):
            return f"must be a list, got {type(value).__name__}"
        return next((f"[{i}] {problem}" for i, item in enumerate(value)
                     if (problem := check(item, policy, limit))), None)
    return checker


def _one_or_list(check):
    """OSWorld's `multi` getters take a list where others take one value."""
    listed = _list_of(check)
    return lambda value, policy, limit: listed(value, policy, limit) if isinstance(value, list) else \
        check(value, policy, limit)


def _basename_of(check):
    """A guest path whose last part the getter uses as the host file name."""
    def checker(value, policy, limit):
        if not isinstance(value, str):
            return f"must be a path (a string), got {type(value).__name__}"
        problem = check(posixpath.basename(value.rstrip("/")), policy, limit)
        return f"ends in a name that is not a plain file name ({problem})" if problem else None
    return checker


def _objects(schema: dict):
    def checker(value, policy, limit):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return "must be a list of JSON objects"
        return next((f"[{i}].{problem}" for i, item in enumerate(value)
                     if (problem := _params_problem(item, schema, policy, limit))), None)
    return checker


def _until(value, policy, limit):
    schema = {"returncode": _integer, "stdout": _string, "stderr": _string}
    if not isinstance(value, dict):
        return "must be a JSON object"
    return _params_problem(value, schema, policy, limit)


# --- schemas: key -> checker; a key ending in "!" is required -----------------------------------------------
WINDOW = {"window_name!": _string, "strict": _flag, "by_class": _flag}
EXECUTE = {"command!": _command, "shell": _flag, "stdout": _host_name, "stderr": _host_name, "until": _until}
STEP_PARAMETERS = {
    "download": {"files!": _objects({"url!": _host_url, "path!": _string})},
    "upload_file": {"files!": _objects({"local_path!": _upload, "remote_path!": _string})},
    "launch": {"command!": _command, "shell": _flag},
    "open": {"path!": _string},
    "execute": EXECUTE,
    "command": EXECUTE,
    "sleep": {"seconds!": _seconds},
    "activate_window": WINDOW,
    "close_window": WINDOW,
    "change_wallpaper": {"path!": _string},
    "chrome_open_tabs": {"urls_to_open!": _list_of(_string)},
    "chrome_close_tabs": {"urls_to_close!": _list_of(_string)},
    "update_browse_history": {"history!": _objects({"url!": _string, "title!": _string,
                                                    "visit_time_from_now_in_seconds!": _number})},
}
SAVED = {"dest!": _host_name}
MULTI = ("vm_file", "cloud_file")
COMMAND = {"command!": _command, "shell": _flag}
GETTER_PARAMETERS = {
    "vm_file": {"path!": _one_or_list(_string), "dest!": _one_or_list(_host_name), "multi": _flag,
                "gives": _list_of(_integer)},
    "cloud_file": {"path!": _one_or_list(_host_url), "dest!": _one_or_list(_host_name), "multi": _flag,
                   "gives": _list_of(_integer)},
    "cache_file": {"path!": _host_name},
    "rule": {"rules!": _anything},
    "vm_command_line": COMMAND,
    "vm_command_error": COMMAND,
    "list_directory": {"path!": _string},
    "vm_window_size": {"app_class_name!": _string},
    "background_image_in_slide": {"ppt_file_path!": _basename_of(_host_name),
                                  "slide_index!": _integer, **SAVED},
    "active_url_from_accessTree": {"goto_prefix": _string},
    "active_tab_url_parse": {"parse_keys!": _list_of(_string), "replace": _mapping, "split_list": _flag,
                             "goto_prefix": _string},
    "url_dashPart": {"partIndex!": _integer, "needDeleteId": _flag, "key": _string, "returnType!": _string,
                     "goto_prefix": _string},
    "url_path_parse": {"parse_keys": _list_of(_string), "goto_prefix": _string},
    "active_tab_info": {"goto_prefix": _string},
    "active_tab_html_parse": {"category": _string, "goto_prefix": _string},
    "page_info": {"url!": _string},
    "pdf_from_url": {"path!": _string, **SAVED},
    "history": SAVED,
    "cookie_data": SAVED,
    "rule_relativeTime": {"rules!": _mapping},
    "vlc_config": SAVED,
    "gimp_config_file": {"file_name!": _string, **SAVED},
    "vlc_playing_info": SAVED,
    "vm_wallpaper": SAVED,
    "vscode_config": {"vscode_extension_command!": _string, "path!": _string, **SAVED},
    "content_from_vm_file": {"path!": _basename_of(_host_name), "file_type": _string,
                             "file_content": _string},
}


def _params_problem(params: dict, schema: dict, policy: HostPolicy, limit: float) -> str | None:
    for spec, check in schema.items():
        key = spec.rstrip("!")
        if key not in params:
            if spec.endswith("!"):
                return f"{key} is required"
            continue
        problem = check(params[key], policy, limit)
        if problem:
            return f"{key} {problem}"
    return None


def _multi_problem(getter: dict) -> str | None:
    """`multi` getters pair path[i] with dest[i]; `gives` picks among them."""
    if not getter.get("multi"):
        return None if not isinstance(getter.get("path"), list) else "path is a list but multi is not true"
    paths, dests = getter.get("path"), getter.get("dest")
    if not isinstance(paths, list) or not isinstance(dests, list) or len(paths) != len(dests):
        return "with multi, path and dest must be lists of the same length"
    gives = getter.get("gives", [0])
    if not isinstance(gives, list) or not gives or not all(isinstance(i, int) and 0 <= i < len(paths)
                                                           for i in gives):
        return "gives must list indexes of path"
    return None


# --- the task -----------------------------------------------------------------------------------------------
def shape_problems(task_config, settings=None) -> list[str]:
    """What makes a task file malformed or outside the host policy (a 400 at reset), each naming its key."""
    if not isinstance(task_config, dict):
        return ["task_config must be a JSON object"]
    evaluator = task_config.get("evaluator", {})
    if not isinstance(evaluator, dict):
        return ["task_config.evaluator must be a JSON object"]
    policy, limit = _policy(settings)
    problems = [f"task_config.id {problem}" for problem in [task_id_problem(task_config.get("id"))]
                if problem]
    if "instruction" in task_config and not isinstance(task_config["instruction"], str):
        problems.append("task_config.instruction must be a string")
    for where, steps in (("config", task_config.get("config", [])),
                         ("evaluator.postconfig", evaluator.get("postconfig", []))):
        problems += _steps_problems(where, steps, policy, limit)
    for key in ("result", "expected"):
        problems += _getters_problems(key, evaluator.get(key), policy, limit)
    return problems + _evaluator_problems(evaluator)


def _policy(settings) -> tuple[HostPolicy, float]:
    evaluation = {**DEFAULTS["evaluation"], **(settings.evaluation if settings is not None else {})}
    return HostPolicy.from_settings(evaluation), evaluation["step_timeout"]


def _steps_problems(where: str, steps, policy: HostPolicy, limit: float) -> list[str]:
    if not isinstance(steps, list) or not all(isinstance(step, dict)
                                              and isinstance(step.get("parameters", {}), dict)
                                              for step in steps):
        return [f"task_config.{where} must be a list of {{type, parameters}} objects"]
    problems = []
    for index, step in enumerate(steps):
        schema = STEP_PARAMETERS.get(step.get("type"))      # an unknown type is named by the capability check
        problem = schema and _params_problem(step.get("parameters") or {}, schema, policy, limit)
        if problem:
            problems.append(f"task_config.{where}[{index}] ({step.get('type')}): parameters.{problem}")
    return problems


def _getters_problems(key: str, value, policy: HostPolicy, limit: float) -> list[str]:
    getters = [] if value is None else value if isinstance(value, list) else [value]
    if not all(isinstance(getter, dict) for getter in getters):
        return [f"task_config.evaluator.{key} must be a getter object or a list of them"]
    problems = []
    for index, getter in enumerate(getters):
        where = f"task_config.evaluator.{key}" + (f"[{index}]" if isinstance(value, list) else "")
        schema = GETTER_PARAMETERS.get(getter.get("type"))
        problem = schema and (_params_problem(getter, schema, policy, limit) or
                              (_multi_problem(getter) if getter.get("type") in MULTI else None))
        if problem:
            problems.append(f"{where} ({getter.get('type')}): {problem}")
    return problems


def _evaluator_problems(evaluator: dict) -> list[str]:
    funcs = evaluator.get("func")
    names = funcs if isinstance(funcs, list) else [funcs]
    problems = []
    if funcs is not None and (not names or not all(isinstance(name, str) for name in names)):
        problems.append("task_config.evaluator.func must be a metric name or a non-empty list of them")
    if evaluator.get("conj", "and") not in ("and", "or"):
        problems.append("task_config.evaluator.conj must be 'and' or 'or'")
    options = evaluator.get("options")
    if options is not None and not all(isinstance(o, dict) or o is None for o in
                                       (options if isinstance(options, list) else [options])):
        problems.append("task_config.evaluator.options must be an object or a list of them")
    return problems
