"""A bad config stops start-up with exit code 78 and an error naming the file and the key; every key is
checked."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon import config
from daemon.config_schema import CONFIG_ERROR, Setting
from daemon.ops.__main__ import main as ops_main
from tests.support import ROOT, end_group, free_port, fresh_ip_base
from tunnel import config as tunnel_config


def daemon_config(folder: Path, extra: dict) -> Path:
    """A simulated daemon config in folder/configs/ whose run files stay in folder, with `extra` merged in."""
    base = {"simulator": {"count": 1, "ip_base": fresh_ip_base()}, "server": {"port": free_port()}}
    for section, value in extra.items():
        base[section] = {**base[section], **value} if isinstance(value, dict) and section in base else value
    path = folder / "configs" / "daemon.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(base))
    return path


def tunnel_yaml(folder: Path, extra: dict) -> Path:
    """A tunnel config whose key and known_hosts files exist, with `extra` merged in."""
    (folder / "key").write_text("not read: the config is refused first\n")
    (folder / "known_hosts").touch()
    data = {"ssh": {"host": "127.0.0.1", "user": "nobody", "key_file": "key", "known_hosts": "known_hosts"}}
    for section, value in extra.items():
        data[section] = {**data.get(section, {}), **value} if isinstance(value, dict) else value
    path = folder / "tunnel.yaml"
    path.write_text(json.dumps(data))
    return path


def leaf_keys(schema: dict, where: tuple = ()) -> list[tuple[str, ...]]:
    keys = []
    for key, entry in schema.items():
        keys += leaf_keys(entry, where + (key,)) if isinstance(entry, dict) else [where + (key,)]
    return keys


def nested(keys: tuple[str, ...], value) -> dict:
    return {keys[0]: value} if len(keys) == 1 else {keys[0]: nested(keys[1:], value)}


def run(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """A program as supervisord runs it; one that starts instead of refusing its config is ended, group and
    all."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        end_group(proc)
        out, err = proc.communicate()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@pytest.mark.parametrize("extra, key", [
    ({"vmware": {"guest_port": "x"}}, "vmware.guest_port"),
    ({"log_level": "LOUD"}, "log_level"),
])
def test_the_daemon_exits_78_naming_file_and_key(tmp_path, extra, key):
    path = daemon_config(tmp_path, extra)
    done = run([sys.executable, "-m", "daemon", "--config", str(path)])
    assert done.returncode == CONFIG_ERROR == 78, done.stderr
    assert f"config error: {path}: '{key}'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_tunnel_exits_78_naming_file_and_key(tmp_path):
    path = tunnel_yaml(tmp_path, {"backoff": {"initial": "1"}})
    done = run([sys.executable, "-m", "tunnel", "--config", str(path)])
    assert done.returncode == CONFIG_ERROR, done.stderr
    assert f"tunnel config error: {path}: 'backoff.initial' must be a number > 0, got '1'" in done.stderr


def test_the_token_command_refuses_a_bad_config_before_making_a_token(tmp_path, capsys):
    path = daemon_config(tmp_path, {"log_level": "LOUD"})
    assert ops_main(["token", "--config", str(path)]) == CONFIG_ERROR
    assert "'log_level'" in capsys.readouterr().err
    assert not (tmp_path / "run" / "auth-token").exists()


@pytest.mark.parametrize("extra, key, message", [
    ({"vmware": {"guest_port": "x"}}, "vmware.guest_port", "must be a TCP port (1-65535), got 'x'"),
    ({"log_level": "LOUD"}, "log_level", "must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got 'LOUD'"),
    ({"vmware": {"guest_prot": 5000}}, "vmware.guest_prot", None),
    ({"pool": {"warm_probe_timeout": -1}}, "pool.warm_probe_timeout", "must be a number >= 0.1, got -1"),
    ({"vmware": {"command_timeout": -5}}, "vmware.command_timeout", "must be a number >= 0.1, got -5"),
    ({"episode": {"prompt_file": "missing.txt"}}, "episode.prompt_file", "names no readable file"),
    ({"episode": {"screen_width": 0}}, "episode.screen_width", "must be an integer >= 1, got 0"),
    ({"episode": {"reset_ahead": "yes"}}, "episode.reset_ahead", "must be true or false, got 'yes'"),
    ({"simulator": {"ip_base": "127.0.0"}}, "simulator.ip_base", "must be an IPv4 address"),
    ({"vmware": {"vmrun": 5}}, "vmware.vmrun", "must be a path or a program name"),
    ({"run_dir": ["run"]}, "run_dir", "must be a path, got ['run']"),
])
def test_a_bad_key_is_named_with_the_file(tmp_path, extra, key, message):
    path = daemon_config(tmp_path, extra)
    with pytest.raises(config.ConfigError) as refused:
        config.load(path)
    text = str(refused.value)
    assert text.startswith(f"{path}: ") and (f"'{key}' {message}" in text if message else f"'{key}'" in text)


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(config.ConfigError, match=f"{tmp_path / 'absent.yaml'}: cannot read the config file"):
        config.load(tmp_path / "absent.yaml")


def test_the_password_is_not_echoed_in_its_error(tmp_path):
    path = daemon_config(tmp_path, {"evaluation": {"client_password": 123456}})
    with pytest.raises(config.ConfigError, match="'evaluation.client_password' must be a string") as refused:
        config.load(path)
    assert "123456" not in str(refused.value)


def test_an_empty_section_keeps_its_defaults(tmp_path):
    path = daemon_config(tmp_path, {"vmware": None})             # `vmware:` with every key commented out
    assert config.load(path).vmware == config.DEFAULTS["vmware"] | {"vmrun": "vmrun-sim"}


@pytest.mark.parametrize("keys", [k for k in leaf_keys(config.SCHEMA) if k != ("simulator",)]
                         + [("simulator",) + k for k in leaf_keys(config.SIMULATOR)], ids=".".join)
def test_every_daemon_key_is_checked(tmp_path, keys):
    """No key takes a value of the wrong type: a mapping, which no key but `simulator` takes."""
    path = daemon_config(tmp_path, nested(keys, {"wrong": "type"}))
    with pytest.raises(config.ConfigError, match=f"'{'.'.join(keys)}' "):
        config.load(path)


@pytest.mark.parametrize("keys", leaf_keys(tunnel_config.SCHEMA), ids=".".join)
def test_every_tunnel_key_is_checked(tmp_path, keys):
    path = tunnel_yaml(tmp_path, nested(keys, [["wrong", "type"]]))
    with pytest.raises(tunnel_config.TunnelConfigError, match=f"{path}: '{'.'.join(keys)}' "):
        tunnel_config.load(path)


@pytest.mark.parametrize("schema", [config.SCHEMA, config.SIMULATOR, tunnel_config.SCHEMA])
def test_every_default_passes_its_own_check(schema):
    settings = {k: schema[k[0]] if len(k) == 1 else schema[k[0]][k[1]] for k in leaf_keys(schema)}
    assert all(isinstance(s, Setting) and s.doc for s in settings.values())
    failing = [k for k, s in settings.items() if s.check(s.default)]
    required = [("ssh", "host"), ("ssh", "user")] if schema is tunnel_config.SCHEMA else []     # no default
    assert failing == required


def test_a_wrong_jump_host_is_refused(tmp_path):
    path = tunnel_yaml(tmp_path, {"ssh": {"jump": {"host": "bastion", "prot": 22}}})
    with pytest.raises(tunnel_config.TunnelConfigError, match="'ssh.jump' must be a mapping with at least"):
        tunnel_config.load(path)
    tunnel_yaml(tmp_path, {"ssh": {"jump": {"host": "bastion", "port": 2222, "user": "me"}}})
    assert tunnel_config.load(path)["ssh"]["jump"] == {"host": "bastion", "port": 2222, "user": "me"}
