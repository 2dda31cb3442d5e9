"""Daemon configuration: YAML in, validated frozen settings out.

Every default lives in DEFAULTS below and nowhere else. Relative paths in a config file are resolved against the
directory that holds the file, so a config works whatever the current directory is. Every error names the file
and the key, and stops start-up.
"""
from __future__ import annotations

import copy
import functools
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
SIMULATED_TASK_FILES = Path(__file__).resolve().parent / "simulator" / "tasks" / "files"

DEFAULTS: dict[str, Any] = {
    "server": {
        "host": "127.0.0.1",
        "port": 18082,
        "max_body_bytes": 16 * 1024 * 1024,
        "drain_seconds": 60,            # SIGTERM: how long in-flight operations may finish
        "auth": True,                   # false: anyone who reaches the port drives the VMs (warned at start)
        "auth_token_file": None,        # None: <run_dir>/auth-token, created 0600 at first start
        "max_json_depth": 64,           # nesting of a request body (OSWorld tasks nest 9 deep)
        "max_task_config_bytes": 1024 * 1024,   # reset's task_config as JSON (OSWorld's largest: 17 KB)
        "max_prediction_chars": 64 * 1024,      # step's prediction (UI-TARS answers: a few KB)
        "max_connections": 4096,        # open HTTP connections; more are answered 503 and closed at once
        "max_open_files": None,         # RLIMIT_NOFILE soft limit set at start; None: the hard limit
        "idle_timeout": 300.0,          # seconds a kept-alive connection (or one sending its headers) may idle
        "body_timeout": 120.0,          # seconds to receive one request body
    },
    "vmware": {
        "vmrun": None,                  # path or name; None: PATH, then the Fusion app bundle
        "host_type": "fusion",          # vmrun -T
        "snapshot": "init_state",
        "guest_port": 5000,
        "devtools_port": 9222,          # Chrome DevTools in the guest (socat to Chrome's 1337), for Chrome tasks
        "vlc_port": 8080,               # VLC's web interface in the guest (password "password"), for VLC tasks
        "pause_between_steps": False,   # vmrun pause/unpause around trainer pauses
        "command_timeout": 120.0,       # one vmrun call (revert, start, stop …)
        "ip_timeout": 60.0,             # getGuestIPAddress -wait, per attempt
        "guest_ready_timeout": 180.0,   # after start, until the guest HTTP server answers
        "guest_request_timeout": 90.0,  # one guest HTTP request not named below
        "screenshot_timeout": 10.0,     # GET /screenshot (34-44 ms on a real guest)
        "execute_timeout": 130.0,       # an action's /execute: above the guest's own 120 s limit, so its answer wins
        "liveness_timeout": 10.0,       # a long request gives up when /platform stops answering for this long
        "prepare_timeout": 30.0,        # each guest command after bring-up (screen lock off, clipboard tool)
        "guest_retries": 3,             # attempts of a request the guest refused or reset (never of a timeout)
        "reset_attempts": 3,            # whole revert/start/ready cycles, the last ones with a hard stop first
    },
    "simulator": None,                  # a mapping turns on the simulated VMware (see SIMULATOR_DEFAULTS)
    "envs": [],                         # [{"vmx": path}], one worker subprocess each
    "episode": {
        "max_steps": 16,                # as the seed's server
        "max_steps_cap": 100,           # a reset asking for more max_steps is refused (400)
        "settle_seconds": 0.5,
        "wait_seconds": 5.0,            # wait() action
        "prompt_file": str(PACKAGE_DATA / "uitars_arpo.txt"),
        "screen_width": 1920,
        "screen_height": 1080,
        "model_type": "qwen25vl",
        "image_format": "png",          # png: the guest's bytes untouched; jpeg: re-encoded in the worker
        "jpeg_quality": 85,
        "jpeg_max_pixels": None,        # downscale jpeg to the model's smart-resize budget, e.g. 2116800
        "history": "full",              # full | delta
        "typing_interval": 0.01,
        "reset_ahead": True,            # revert + start in the background once an episode is evaluated
        "disable_screen_lock": True,
    },
    "evaluation": {
        "cache_dir": "../run/cache",
        "cache_max_mb": 5120,           # task folders (tasks/<id>/) evicted least recently used first above this;
        "cache_max_age_days": 7.0,      # and once unused this long (None: no bound). Folders in use are kept.
        "cache_sweep_seconds": 600.0,   # how often the daemon sweeps (a walk of tasks/); downloads/ is never swept
        "client_password": "password",
        "download_timeout": 300.0,
        "step_timeout": 130.0,          # one setup/postconfig step or getter call: above the guest's own 120 s
                                        # /execute limit (open_file can block 30 min in the guest)
        "desktop_env_python": None,     # opt-in: python of a venv with OSWorld's desktop-env, for its metrics
        "on_setup_failure": "fail",     # fail: the reset answers 502 | continue: log the step, carry on (OSWorld)
        # What a task may touch on the host (docs/security.md). upload_file reads only below upload_roots;
        # file:// URLs only below file_url_roots (default: the simulated tasks' files); http(s) URLs never reach
        # loopback/private/link-local/multicast/reserved addresses unless allow_private_urls is true (all) or a
        # list of CIDR networks (those); one download is at most download_max_bytes and download_timeout seconds.
        "upload_roots": [],
        "file_url_roots": [str(SIMULATED_TASK_FILES)],
        "allow_private_urls": False,
        "download_max_bytes": 1024 * 1024 * 1024,
    },
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
    "deadlines": {
        "reset": 1100.0,
        "step": 280.0,
        "evaluate": 280.0,
        "history": 30.0,
        "recover": 900.0,
    },
    "trajectories": {                   # every episode recorded: <dir>/<date>/<episode_id>/ (daemon/trajectories)
        "enabled": True,
        "dir": None,                    # None: <run_dir>/trajectories
        "max_bytes": 20 * 1024 ** 3,    # retention: the oldest episodes go first beyond this total ...
        "max_age_days": 30.0,           # ... or this age
        "queue_items": 256,             # writes waiting for the disk; beyond either bound a write is dropped
        "queue_bytes": 256 * 1024 ** 2,
    },
    "pool": {
        "recovery_backoff": [5, 15, 60, 300],   # seconds between recovery attempts, then the env is broken
        "broken_retry_seconds": 1800,   # the watchdog tries a broken env again after this long
        "watchdog_seconds": 15,         # how often the pool looks for envs neither serving nor recovering
        "warm_probe_timeout": 5.0,      # a warm VM's guest must answer /platform within this before a reset uses it
    },
    "run_dir": "../run",
    "tunnel_status_file": "../run/tunnel-status.json",
    "supervisor_socket": "../run/supervisor.sock",
    "log_level": "INFO",
}

SIMULATOR_DEFAULTS: dict[str, Any] = {
    "home": "../run/sim",
    "count": 4,
    "preset": "fast",                   # fast | realistic
    "ip_base": "127.0.0.2",
}

# Keys whose values are paths (or lists of paths) to resolve against the config file's directory.
PATH_KEYS = {
    ("evaluation", "upload_roots"), ("evaluation", "file_url_roots"),
    ("episode", "prompt_file"), ("evaluation", "cache_dir"), ("run_dir",), ("tunnel_status_file",),
    ("supervisor_socket",), ("simulator", "home"), ("server", "auth_token_file"), ("trajectories", "dir"),
    ("vmware", "vmrun"), ("evaluation", "desktop_env_python"),
}


class ConfigError(Exception):
    """A configuration problem; the message names the file and the key."""


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
    """Read, merge with defaults, resolve paths and validate one config file."""
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
        merged["simulator"] = merge_with_defaults(path, SIMULATOR_DEFAULTS, merged["simulator"], ("simulator",))
    for dotted, value in (overrides or {}).items():
        _set(merged, dotted.split("."), value)
    _resolve_paths(Path(path).parent, merged)
    merged["server"]["auth_token_file"] = merged["server"]["auth_token_file"] or os.path.join(merged["run_dir"],
                                                                                              "auth-token")
    _validate(path, merged)
    return Settings(path=path, raw=merged)


def merge_with_defaults(path: str, defaults: dict, given: dict, where: tuple = (), error=None) -> dict:
    """Defaults overlaid with the file's values; an unknown key or a misplaced mapping is an error naming both."""
    error = error or ConfigError
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        name = ".".join(where + (str(key),))
        if key not in defaults:
            raise error(f"{path}: unknown key '{name}'")
        if isinstance(defaults[key], dict) and value is not None:
            if not isinstance(value, dict):
                raise error(f"{path}: '{name}' must be a mapping")
            out[key] = merge_with_defaults(path, defaults[key], value, where + (key,), error)
        else:
            out[key] = value
    return out


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
            node[keys[-1]] = [str((base / os.path.expanduser(v)).resolve()) if isinstance(v, str) else v
                              for v in node[keys[-1]]]
        if not isinstance(node, dict) or not isinstance(node.get(keys[-1]), str):
            continue
        value = os.path.expanduser(node[keys[-1]])
        if keys in (("vmware", "vmrun"), ("evaluation", "desktop_env_python")) and os.sep not in value:
            continue                    # a bare name is looked up on PATH later
        node[keys[-1]] = str((base / value).resolve())


def _check(path: str, ok: bool, key: str, what: str) -> None:
    if not ok:
        raise ConfigError(f"{path}: '{key}' {what}")


def _number(path: str, tree: dict, section: str, key: str, minimum: float = 0.0) -> None:
    value = tree[section][key]
    _check(path, isinstance(value, (int, float)) and not isinstance(value, bool) and value >= minimum,
           f"{section}.{key}", f"must be a number >= {minimum}, got {value!r}")


def _validate(path: str, c: dict) -> None:
    server, vmware, episode, evaluation = c["server"], c["vmware"], c["episode"], c["evaluation"]
    _check(path, isinstance(server["host"], str), "server.host", "must be a string")
    _check(path, isinstance(server["port"], int) and 0 < server["port"] < 65536, "server.port",
           f"must be a TCP port (1-65535), got {server['port']!r}")
    for key in ("max_body_bytes", "drain_seconds", "idle_timeout", "body_timeout"):
        _number(path, c, "server", key, 1)
    for key in ("max_json_depth", "max_task_config_bytes", "max_prediction_chars", "max_connections"):
        _check(path, isinstance(server[key], int) and server[key] >= 1, f"server.{key}", "must be an integer >= 1")
    files = server["max_open_files"]
    _check(path, files is None or isinstance(files, int) and files >= 64, "server.max_open_files",
           "must be an integer >= 64 (or null: the hard limit)")
    _check(path, isinstance(server["auth"], bool), "server.auth", "must be true or false")
    _check(path, isinstance(server["auth_token_file"], str), "server.auth_token_file", "must be a path")
    for key in ("command_timeout", "ip_timeout", "guest_ready_timeout", "guest_request_timeout",
                "screenshot_timeout", "execute_timeout", "liveness_timeout", "prepare_timeout"):
        _number(path, c, "vmware", key, 0.1)
    for key in ("guest_retries", "reset_attempts"):
        _check(path, isinstance(vmware[key], int) and vmware[key] >= 1, f"vmware.{key}", "must be an integer >= 1")
    _check(path, vmware["host_type"] in ("fusion", "ws", "player"), "vmware.host_type",
           "must be fusion, ws or player")
    _check(path, isinstance(vmware["snapshot"], str) and vmware["snapshot"], "vmware.snapshot",
           "must name the snapshot to revert to")
    for key in ("settle_seconds", "wait_seconds", "typing_interval"):
        _number(path, c, "episode", key)
    _check(path, isinstance(episode["max_steps_cap"], int) and episode["max_steps_cap"] >= 1,
           "episode.max_steps_cap", "must be an integer >= 1")
    _check(path, isinstance(episode["max_steps"], int) and 1 <= episode["max_steps"] <= episode["max_steps_cap"],
           "episode.max_steps", "must be an integer from 1 to episode.max_steps_cap")
    _check(path, episode["image_format"] in ("png", "jpeg"), "episode.image_format", "must be png or jpeg")
    _check(path, isinstance(episode["jpeg_quality"], int) and 1 <= episode["jpeg_quality"] <= 100,
           "episode.jpeg_quality", "must be an integer from 1 to 100")
    _check(path, episode["history"] in ("full", "delta"), "episode.history", "must be full or delta")
    _check(path, episode["model_type"] in ("qwen25vl", "qwen2vl"), "episode.model_type",
           "must be qwen25vl (smart-resized pixels) or qwen2vl (relative to 1000)")
    _check(path, os.path.isfile(episode["prompt_file"]), "episode.prompt_file",
           f"names no readable file: {episode['prompt_file']}")
    for key in ("download_timeout", "step_timeout", "cache_sweep_seconds"):
        _number(path, c, "evaluation", key, 0.1)
    for key in ("cache_max_mb", "cache_max_age_days"):
        if evaluation[key] is not None:
            _number(path, c, "evaluation", key, 0.0)
    _check(path, evaluation["on_setup_failure"] in ("fail", "continue"), "evaluation.on_setup_failure",
           "must be fail (a failed setup step fails the reset) or continue (log it and carry on, as OSWorld does)")
    python = evaluation["desktop_env_python"]
    _check(path, python is None or os.access(python, os.X_OK), "evaluation.desktop_env_python",
           f"names no executable python: {python} (the python of a venv with OSWorld's desktop-env installed)")
    _validate_host_policy(path, evaluation)
    for key in DEFAULTS["deadlines"]:
        _number(path, c, "deadlines", key, 1)
    _validate_trajectories(path, c)
    _validate_pool(path, c["pool"])
    _validate_envs(path, c)


def _validate_host_policy(path: str, evaluation: dict) -> None:
    import ipaddress
    for key in ("upload_roots", "file_url_roots"):
        roots = evaluation[key]
        _check(path, isinstance(roots, list) and all(isinstance(r, str) and r for r in roots), f"evaluation.{key}",
               "must be a list of folder paths")
    allowed = evaluation["allow_private_urls"]
    try:
        networks_ok = isinstance(allowed, bool) or (isinstance(allowed, list) and all(
            isinstance(n, str) and ipaddress.ip_network(n, strict=False) for n in allowed))
    except ValueError:
        networks_ok = False
    _check(path, networks_ok, "evaluation.allow_private_urls",
           f"must be true, false or a list of networks such as 10.0.0.0/8, got {allowed!r}")
    size = evaluation["download_max_bytes"]
    _check(path, isinstance(size, int) and not isinstance(size, bool) and size >= 1, "evaluation.download_max_bytes",
           f"must be an integer number of bytes >= 1, got {size!r}")


def _validate_pool(path: str, pool: dict) -> None:
    backoff = pool["recovery_backoff"]
    _check(path, isinstance(backoff, list) and backoff and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in backoff),
        "pool.recovery_backoff", f"must be a non-empty list of seconds >= 0, got {backoff!r}")
    for key in ("broken_retry_seconds", "watchdog_seconds", "warm_probe_timeout"):
        _number(path, {"pool": pool}, "pool", key, 0.1)


def _validate_trajectories(path: str, c: dict) -> None:
    recording = c["trajectories"]
    _check(path, isinstance(recording["enabled"], bool), "trajectories.enabled", "must be true or false")
    _check(path, recording["dir"] is None or isinstance(recording["dir"], str), "trajectories.dir",
           "must be a folder path (or absent: <run_dir>/trajectories)")
    for key in ("max_bytes", "max_age_days", "queue_items", "queue_bytes"):
        _number(path, c, "trajectories", key, 1)
    if recording["dir"] is None:
        recording["dir"] = str(Path(c["run_dir"]) / "trajectories")


def _validate_envs(path: str, c: dict) -> None:
    sim = c["simulator"]
    if sim is not None:
        _check(path, isinstance(sim, dict), "simulator", "must be a mapping (or absent)")
        _check(path, isinstance(sim["count"], int) and 1 <= sim["count"] <= 64, "simulator.count",
               "must be an integer from 1 to 64")
        _check(path, sim["preset"] in ("fast", "realistic"), "simulator.preset", "must be fast or realistic")
        if not c["envs"]:
            home = Path(sim["home"])
            c["envs"] = [{"vmx": str(home / f"vm{i}" / f"vm{i}.vmx")} for i in range(sim["count"])]
        if c["vmware"]["vmrun"] is None:
            c["vmware"]["vmrun"] = "vmrun-sim"
    envs = c["envs"]
    _check(path, isinstance(envs, list) and envs, "envs", "must list at least one VM ({vmx: path})")
    for i, env in enumerate(envs):
        _check(path, isinstance(env, dict) and isinstance(env.get("vmx"), str), f"envs[{i}]",
               "must be a mapping with a 'vmx' path")
        unknown = set(env) - {"vmx"}
        _check(path, not unknown, f"envs[{i}]", f"has unknown keys {sorted(unknown)}")
        env["vmx"] = os.path.expanduser(env["vmx"])


def find_vmrun(configured: str | None) -> str | None:
    """The vmrun executable to use: the configured path/name, else PATH, else the Fusion app bundle."""
    candidates = [configured] if configured else ["vmrun", "/Applications/VMware Fusion.app/Contents/Library/vmrun"]
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
