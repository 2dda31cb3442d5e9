"""supervisord.conf agrees with the programs it runs (drain bound, exit codes, paths, launchd timeout)."""
from __future__ import annotations

import configparser
from pathlib import PurePosixPath

import pytest

from daemon.config import DEFAULTS
from daemon.config_schema import CONFIG_ERROR
from daemon.ops import launchd
from tests.ops.sandbox import tracked_files
from tests.support import ROOT


@pytest.fixture(scope="module")
def conf():
    parser = configparser.RawConfigParser()
    parser.read(ROOT / "supervisord.conf")
    return parser


def test_both_programs_in_one_group(conf):
    assert conf.get("group:osworld", "programs").split(",") == ["daemon", "tunnel"]


def test_stop_waits_longer_than_the_daemon_drains_and_launchd_waits_longer_still(conf):
    stopwait = conf.getint("program:daemon", "stopwaitsecs")
    assert stopwait > DEFAULTS["server"]["drain_seconds"]
    assert launchd.EXIT_TIMEOUT > stopwait


@pytest.mark.parametrize("program", ["daemon", "tunnel"])
def test_config_errors_are_not_restarted_and_nothing_is_orphaned(conf, program):
    section = f"program:{program}"
    assert conf.get(section, "exitcodes").split(",") == [str(CONFIG_ERROR)]
    assert conf.get(section, "autorestart") == "unexpected"
    assert conf.get(section, "stopsignal") == "TERM" and conf.getboolean(section, "killasgroup")
    assert conf.getint(section, "startsecs") > 0 and conf.getint(section, "startretries") > 0
    assert conf.get(section, "stdout_logfile").startswith("%(here)s/run/logs/")
    assert conf.get(section, "stdout_logfile_maxbytes") and conf.getint(section, "stdout_logfile_backups") > 0


def test_every_path_is_relative_to_the_file(conf):
    paths = [conf.get("unix_http_server", "file"), conf.get("supervisorctl", "serverurl"),
             conf.get("supervisord", "logfile"), conf.get("supervisord", "pidfile")]
    paths += [conf.get(f"program:{p}", "command") for p in ("daemon", "tunnel")]
    assert all("%(here)s/" in path for path in paths)


def test_every_directory_the_conf_writes_to_exists_in_a_fresh_checkout(conf):
    """supervisord creates no directories: each one its paths need is tracked by git (run/logs/.gitkeep)."""
    paths = [conf.get("unix_http_server", "file"), conf.get("supervisord", "logfile"),
             conf.get("supervisord", "pidfile"), conf.get("supervisord", "childlogdir") + "/x"]
    paths += [conf.get(f"program:{p}", "stdout_logfile") for p in ("daemon", "tunnel")]
    tracked_dirs = {str(PurePosixPath(name).parent) for name in tracked_files("run")}
    for path in paths:
        folder = str(PurePosixPath(path.replace("%(here)s/", "")).parent)
        assert folder in tracked_dirs or any(d.startswith(folder + "/") for d in tracked_dirs), \
            f"{path}: its directory {folder} is not in git, so a fresh checkout lacks it"
