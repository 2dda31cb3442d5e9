"""Daemon configuration: YAML in, validated frozen settings out.

Every key lives in SCHEMA below and nowhere else: its default, the check its value must pass and what it is
for (DEFAULTS is the plain mapping of the defaults). Relative paths in a config file are resolved against the
directory that holds the file, so a config works whatever the current directory is. Every key is checked at
start-up; an error names the file and the key, and stops start-up (exit code config_schema.CONFIG_ERROR).
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config_schema import (
    ConfigError,
    Setting,
    a_path,
    check_settings,
    defaults_of,
    flag,
    integer,
    is_ip_network,
    is_ipv4,
    is_number,
    list_of,
    log_level,
    merge_with_defaults,
    number,
    one_of,
    optional,
    port,
    rule,
    text,
)

__all__ = ["ConfigError", "DEFAULTS", "SCHEMA", "SIMULATOR", "SIMULATOR_DEFAULTS", "Settings", "find_vmrun",
           "load"]

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
SIMULATED_TASK_FILES = Path(__file__).resolve().parent / "simulator" / "tasks" / "files"

_S = Setting
_TIMEOUT = number(0.1)                  # a timeout or period of seconds
_COUNT = integer(1)
_PATHS = list_of(lambda v: isinstance(v, str) and bool(v), "must be a list of folder paths")

SERVER = {
    "host": _S("127.0.0.1", rule(lambda v: isinstance(v, str), "must be a string"), "address to listen on"),
    "port": _S(18082, port(), "TCP port to listen on"),
    "max_body_bytes": _S(16 * 1024 * 1024, number(1), "largest request body"),
    "drain_seconds": _S(60, number(1), "SIGTERM: how long in-flight operations may finish"),
    "auth": _S(True, flag(), "false: anyone who reaches the port drives the VMs (warned at start)"),
    "auth_token_file": _S(None, optional(a_path(), "must be a path"),
                          "None: <run_dir>/auth-token, created 0600 at first start"),
    "max_json_depth": _S(64, _COUNT, "nesting of a request body (OSWorld tasks nest 9 deep)"),
    "max_task_config_bytes": _S(1024 * 1024, _COUNT,
                                "reset's task_config as JSON (OSWorld's largest: 17 KB)"),
    "max_prediction_chars": _S(64 * 1024, _COUNT, "step's prediction (UI-TARS answers: a few KB)"),
    "max_connections": _S(4096, _COUNT, "open HTTP connections; more are answered 503 and closed at once"),
    "max_open_files": _S(None, optional(integer(64), "must be an integer >= 64 (or null: the hard limit)"),
                         "RLIMIT_NOFILE soft limit set at start; None: the hard limit"),
    "idle_timeout": _S(300.0, number(1),
                       "seconds a kept-alive connection (or one sending its headers) may idle"),
    "body_timeout": _S(120.0, number(1), "seconds to receive one request body"),
}

VMWARE = {
    "vmrun": _S(None, optional(text(), "must be a path or a program name (or null: PATH, then Fusion)"),
                "path or name; None: PATH, then the Fusion app bundle"),
    "host_type": _S("fusion", one_of("fusion", "ws", "player"), "vmrun -T"),
    "snapshot": _S("init_state", text("must name the snapshot to revert to"),
                   "the snapshot every reset reverts to"),
    "guest_port": _S(5000, port(), "the OSWorld guest HTTP server's port"),
    "devtools_port": _S(9222, port(),
                        "Chrome DevTools in the guest (socat to Chrome's 1337), for Chrome tasks"),
    "vlc_port": _S(8080, port(), "VLC's web interface in the guest (password \"password\"), for VLC tasks"),
    "pause_between_steps": _S(False, flag(), "vmrun pause/unpause around trainer pauses"),
    "command_timeout": _S(120.0, _TIMEOUT, "one vmrun call (revert, start, stop …)"),
    "ip_timeout": _S(60.0, _TIMEOUT, "getGuestIPAddress -wait, per attempt"),
    "guest_ready_timeout": _S(180.0, _TIMEOUT, "after start, until the guest HTTP server answers"),
    "guest_request_timeout": _S(90.0, _TIMEOUT, "one guest HTTP request not named below"),
    "screenshot_timeout": _S(10.0, _TIMEOUT, "GET /screenshot (34-44 ms on a real guest)"),
    "execute_timeout": _S(130.0, _TIMEOUT,
                          "an action's /execute: above the guest's own 120 s limit, so its answer wins"),
    "liveness_timeout": _S(10.0, _TIMEOUT,
                           "a long request gives up when /platform stops answering for this long"),
    "prepare_timeout": _S(30.0, _TIMEOUT,
                          "each guest command after bring-up (screen lock off, clipboard tool)"),
    "guest_retries": _S(3, _COUNT, "attempts of a request the guest refused or reset (never of a timeout)"),
    "reset_attempts": _S(3, _COUNT, "whole revert/start/ready cycles, the last ones with a hard stop first"),
}

EPISODE = {
    "max_steps": _S(16, integer(1, what="must be an integer from 1 to episode.max_steps_cap"),
                    "as the seed's server"),
    "max_steps_cap": _S(100, _COUNT, "a reset asking for more max_steps is refused (400)"),
    "settle_seconds": _S(0.5, number(), "pause after an action before its screenshot"),
    "wait_seconds": _S(5.0, number(), "wait() action"),
    "prompt_file": _S(str(PACKAGE_DATA / "uitars_arpo.txt"), a_path(), "the model's prompt template"),
    "screen_width": _S(1920, _COUNT, "the guest's screen, in pixels"),
    "screen_height": _S(1080, _COUNT, "the guest's screen, in pixels"),
    "model_type": _S("qwen25vl", one_of("qwen25vl", "qwen2vl", what="must be qwen25vl (smart-resized pixels) "
                                        "or qwen2vl (relative to 1000)"), "how the model's coordinates read"),
    "image_format": _S("png", one_of("png", "jpeg"),
                       "png: the guest's bytes untouched; jpeg: re-encoded in the worker"),
    "jpeg_quality": _S(85, integer(1, 100), "jpeg re-encoding quality"),
    "jpeg_max_pixels": _S(None, optional(integer(1), "must be an integer >= 1 (or null: no downscale)"),
                          "downscale jpeg to the model's smart-resize budget, e.g. 2116800"),
    "history": _S("full", one_of("full", "delta"), "full | delta"),
    "typing_interval": _S(0.01, number(), "seconds between typed keys"),
    "reset_ahead": _S(True, flag(), "revert + start in the background once an episode is evaluated"),
    "disable_screen_lock": _S(True, flag(), "turn the guest's screen lock off at each reset"),
}

# What a task may touch on the host (docs/security.md). upload_file reads only below upload_roots; file://
# URLs only below file_url_roots (default: the simulated tasks' files); http(s) URLs never reach loopback/
# private/link-local/multicast/reserved addresses unless allow_private_urls is true (all) or a list of CIDR
# networks (those); one download is at most download_max_bytes and download_timeout seconds.
EVALUATION = {
    "cache_dir": _S("../run/cache", a_path(), "task files and downloads, shared by the workers"),
    "cache_max_mb": _S(5120, optional(number(0.0), "must be a number >= 0.0 (or null: no bound)"),
                       "task folders (tasks/<id>/) evicted least recently used first above this;"),
    "cache_max_age_days": _S(7.0, optional(number(0.0), "must be a number >= 0.0 (or null: no bound)"),
                             "and once unused this long (None: no bound). Folders in use are kept."),
    "cache_sweep_seconds": _S(600.0, _TIMEOUT,
                              "how often the daemon sweeps (a walk of tasks/); downloads/ is never swept"),
    "client_password": _S("password", rule(lambda v: isinstance(v, str), "must be a string (quote it in "
                                           "YAML)", show_value=False), "the guest user's password, for sudo"),
    "download_timeout": _S(300.0, _TIMEOUT, "one download of a task file"),
    "step_timeout": _S(130.0, _TIMEOUT, "one setup/postconfig step or getter call: above the guest's own "
                                        "120 s /execute limit (open_file can block 30 min in the guest)"),
    "desktop_env_python": _S(None, optional(a_path(), "must be a path"),
                             "opt-in: python of a venv with OSWorld's desktop-env, for its metrics"),
    "on_setup_failure": _S("fail", one_of("fail", "continue", what="must be fail (a failed setup step fails "
                                          "the reset) or continue (log it and carry on, as OSWorld does)"),
                           "fail: the reset answers 502 | continue: log the step, carry on (OSWorld)"),
    "upload_roots": _S([], _PATHS, "upload_file reads only below these folders"),
    "file_url_roots": _S([str(SIMULATED_TASK_FILES)], _PATHS, "file:// URLs only below these folders"),
    "allow_private_urls": _S(False, rule(lambda v: isinstance(v, bool) or isinstance(v, list) and all(
        is_ip_network(n) for n in v), "must be true, false or a list of networks such as 10.0.0.0/8"),
        "http(s) URLs may reach private addresses: all (true) or these networks"),
    "download_max_bytes": _S(1024 * 1024 * 1024, integer(1, what="must be an integer number of bytes >= 1"),
                             "the largest download"),
}

# The pool kills a worker that overruns a deadline; the worker itself works within 95 % of it (its budget:
# every vmrun and guest call is clipped to what is left) so that it answers a clear error first. Each stays
# below the unchanged seed client's timeouts (reset 1200 s, step 300 s, evaluate 300 s), so its retry never
# meets a request still in flight:
#   step 280 = an action's /execute (execute_timeout 130) + screenshot_timeout 10 + wait_seconds 5
#              + settle 0.5 = 145.5, with room for a second long action; a frozen guest ends a call within
#              2 x liveness_timeout = 20 s.
#   evaluate 280 = two getters or postconfig steps at step_timeout 130 = 260 (most tasks: seconds).
#   reset 1100 = reset-ahead still running + bring-up + setup. One bring-up attempt on Fusion: revert 7 +
#              start 16 + IP 3 + guest ready 10 = 36 s typically; its bounds (3 x command_timeout 120 +
#              ip_timeout 60 + guest_ready_timeout 180 = 600) fit one attempt and setup steps, the budget
#              stops further attempts.
#   recover 900 = reset_attempts 3 bring-ups at their typical 36 s each, plus a hard stop, with margin.
DEADLINES = {
    "reset": _S(1100.0, number(1), "seconds for a reset (see above)"),
    "step": _S(280.0, number(1), "seconds for a step"),
    "evaluate": _S(280.0, number(1), "seconds for an evaluation"),
    "history": _S(30.0, number(1), "seconds for a history request"),
    "recover": _S(900.0, number(1), "seconds for a recovery"),
}

TRAJECTORIES = {                        # every episode recorded: <dir>/<date>/<episode_id>/ (trajectories/)
    "enabled": _S(True, flag(), "record every episode"),
    "dir": _S(None, optional(a_path(), "must be a folder path (or absent: <run_dir>/trajectories)"),
              "None: <run_dir>/trajectories"),
    "max_bytes": _S(20 * 1024 ** 3, number(1),
                    "retention: the oldest episodes go first beyond this total ..."),
    "max_age_days": _S(30.0, number(1), "... or this age"),
    "queue_items": _S(256, number(1), "writes waiting for the disk; beyond either bound a write is dropped"),
    "queue_bytes": _S(256 * 1024 ** 2, number(1), "bytes of those writes"),
}

POOL = {
    "recovery_backoff": _S([5, 15, 60, 300], list_of(lambda v: is_number(v) and v >= 0, "must be a non-empty "
                                                     "list of seconds >= 0", non_empty=True),
                           "seconds between recovery attempts, then the env is broken"),
    "broken_retry_seconds": _S(1800, _TIMEOUT, "the watchdog tries a broken env again after this long"),
    "watchdog_seconds": _S(15, _TIMEOUT, "how often the pool looks for envs neither serving nor recovering"),
    "warm_probe_timeout": _S(5.0, _TIMEOUT, "a warm VM's guest must answer /platform within this before a "
                                            "reset uses it"),
}

SCHEMA: dict[str, Any] = {
    "server": SERVER,
    "vmware": VMWARE,
    "simulator": _S(None, rule(lambda v: v is None or isinstance(v, dict), "must be a mapping (or absent)"),
                    "a mapping turns on the simulated VMware (see SIMULATOR)"),
    "envs": _S([], rule(lambda v: isinstance(v, list), "must list at least one VM ({vmx: path})"),
               "[{vmx: path}], one worker subprocess each"),
    "episode": EPISODE,
    "evaluation": EVALUATION,
    "deadlines": DEADLINES,
    "trajectories": TRAJECTORIES,
    "pool": POOL,
    "run_dir": _S("../run", a_path(), "logs, sockets, the token, trajectories"),
    "tunnel_status_file": _S("../run/tunnel-status.json", a_path(), "the tunnel's state, shown in /health"),
    "supervisor_socket": _S("../run/supervisor.sock", a_path(), "supervisord's socket, for /health"),
    "log_level": _S("INFO", log_level(), "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
}

SIMULATOR = {
    "home": _S("../run/sim", a_path(), "the simulated VMs' folders"),
    "count": _S(4, integer(1, 64), "simulated VMs"),
    "preset": _S("fast", one_of("fast", "realistic"), "fast | realistic (VMware's latencies)"),
    "ip_base": _S("127.0.0.2", rule(is_ipv4, "must be an IPv4 address such as 127.0.0.2"),
                  "VM i answers on ip_base + i"),
}

DEFAULTS: dict[str, Any] = defaults_of(SCHEMA)
SIMULATOR_DEFAULTS: dict[str, Any] = defaults_of(SIMULATOR)

# Keys whose values are paths (or lists of paths) to resolve against the config file's directory.
PATH_KEYS = {
    ("evaluation", "upload_roots"), ("evaluation", "file_url_roots"),
    ("episode", "prompt_file"), ("evaluation", "cache_dir"), ("run_dir",), ("tunnel_status_file",),
    ("supervisor_socket",), ("simulator", "home"), ("server", "auth_token_file"), ("trajectories", "dir"),
    ("vmware", "vmrun"), ("evaluation", "desktop_env_python"),
}


@dataclass(frozen=True)
class Settings:
    """Validated configuration. `raw` is the merged mapping; attribute helpers read it."""

    path: str
    raw: dict

    @property
    def server(self) -> dict:
        return self.raw["server"]

    @property
    def vmware(self) -> dict:
        return self.raw["vmware"]

    @property
    def episode(self) -> dict:
        return self.raw["episode"]

    @property
    def evaluation(self) -> dict:
        return self.raw["evaluation"]

    @property
    def deadlines(self) -> dict:
        return self.raw["deadlines"]

    @property
    def pool(self) -> dict:
        return self.raw["pool"]

    @property
    def simulator(self) -> dict | None:
        return self.raw["simulator"]

    @property
    def envs(self) -> list[dict]:
        return self.raw["envs"]

    @functools.cached_property
    def prompt_template(self) -> str:
        """Read once per process: every reset uses it."""
        return Path(self.episode["prompt_file"]).read_text(encoding="utf-8")


def load(path: str | os.PathLike, overrides: dict | None = None) -> Settings:
    """Read, merge with defaults, check every key, resolve paths and check what the keys name together."""
    path = str(Path(path).resolve())
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    merged = merge_with_defaults(path, DEFAULTS, data)
    if isinstance(merged.get("simulator"), dict):
        merged["simulator"] = merge_with_defaults(path, SIMULATOR_DEFAULTS, merged["simulator"],
                                                  ("simulator",))
    for dotted, value in (overrides or {}).items():
        _set(merged, dotted.split("."), value)
    check_settings(path, SCHEMA, merged)
    if merged["simulator"] is not None:
        check_settings(path, SIMULATOR, merged["simulator"], ("simulator",))
    _resolve_paths(Path(path).parent, merged)
    server = merged["server"]
    server["auth_token_file"] = server["auth_token_file"] or os.path.join(merged["run_dir"], "auth-token")
    _validate_together(path, merged)
    return Settings(path=path, raw=merged)


def _set(tree: dict, keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def _resolve_paths(base: Path, merged: dict) -> None:
    for keys in PATH_KEYS:
        node = merged
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), list):
            node[keys[-1]] = [str((base / os.path.expanduser(v)).resolve()) for v in node[keys[-1]]]
        if not isinstance(node, dict) or not isinstance(node.get(keys[-1]), str):
            continue
        value = os.path.expanduser(node[keys[-1]])
        if keys in (("vmware", "vmrun"), ("evaluation", "desktop_env_python")) and os.sep not in value:
            continue                    # a bare name is looked up on PATH later
        node[keys[-1]] = str((base / value).resolve())


def _check(path: str, ok: bool, key: str, what: str) -> None:
    if not ok:
        raise ConfigError(f"{path}: '{key}' {what}")


def _validate_together(path: str, c: dict) -> None:
    """What one key's check cannot see: keys that bound each other, files named, defaults made of others."""
    episode, evaluation = c["episode"], c["evaluation"]
    _check(path, episode["max_steps"] <= episode["max_steps_cap"], "episode.max_steps",
           "must be an integer from 1 to episode.max_steps_cap")
    _check(path, os.path.isfile(episode["prompt_file"]), "episode.prompt_file",
           f"names no readable file: {episode['prompt_file']}")
    python = evaluation["desktop_env_python"]
    _check(path, python is None or os.access(python, os.X_OK), "evaluation.desktop_env_python",
           f"names no executable python: {python} "
           "(the python of a venv with OSWorld's desktop-env installed)")
    if c["trajectories"]["dir"] is None:
        c["trajectories"]["dir"] = str(Path(c["run_dir"]) / "trajectories")
    _validate_envs(path, c)


def _validate_envs(path: str, c: dict) -> None:
    sim = c["simulator"]
    if sim is not None:
        if not c["envs"]:
            home = Path(sim["home"])
            c["envs"] = [{"vmx": str(home / f"vm{i}" / f"vm{i}.vmx")} for i in range(sim["count"])]
        if c["vmware"]["vmrun"] is None:
            c["vmware"]["vmrun"] = "vmrun-sim"
    envs = c["envs"]
    _check(path, bool(envs), "envs", "must list at least one VM ({vmx: path})")
    for i, env in enumerate(envs):
        _check(path, isinstance(env, dict) and isinstance(env.get("vmx"), str), f"envs[{i}]",
               "must be a mapping with a 'vmx' path")
        unknown = set(env) - {"vmx"}
        _check(path, not unknown, f"envs[{i}]", f"has unknown keys {sorted(unknown)}")
        env["vmx"] = os.path.expanduser(env["vmx"])


def find_vmrun(configured: str | None) -> str | None:
    """The vmrun executable to use: the configured path/name, else PATH, else the Fusion app bundle."""
    fusion = "/Applications/VMware Fusion.app/Contents/Library/vmrun"
    candidates = [configured] if configured else ["vmrun", fusion]
    for candidate in candidates:
        if os.sep in candidate:
            if os.access(candidate, os.X_OK):
                return candidate
            continue
        found = shutil.which(candidate) or _beside_python(candidate)
        if found:
            return found
    return None


def _beside_python(name: str) -> str | None:
    """Console scripts of this package sit beside the interpreter, which may not be on PATH (supervisord)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if os.access(candidate, os.X_OK) else None
