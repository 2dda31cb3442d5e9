"""daemon.ops.launch: the one place that picks each program's config."""
from __future__ import annotations

from pathlib import Path

import pytest

from daemon.ops import launch


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    for name in ("OSWORLD_DAEMON_CONFIG", "OSWORLD_TUNNEL_CONFIG", "OSWORLD_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))          # no vmrun unless a test puts one there
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "sim.yaml").write_text("simulator: {count: 1}\nserver: {port: 18999}\n")
    return tmp_path


def fake_vmrun(checkout: Path) -> Path:
    vmrun = checkout / "bin" / "vmrun"
    vmrun.parent.mkdir()
    vmrun.write_text("#!/bin/sh\nexit 0\n")
    vmrun.chmod(0o755)
    return vmrun


def write_vmware(checkout: Path, envs: str) -> None:
    (checkout / "configs" / "vmware.yaml").write_text(f"envs: {envs}\n")


def test_simulated_when_vmrun_is_absent(checkout):
    write_vmware(checkout, "[{vmx: /vms/a.vmx}]")
    path, reason = launch.daemon_config(checkout)
    assert path == checkout / "configs" / "sim.yaml" and "vmrun not found" in reason


def test_simulated_when_vmware_yaml_lists_no_vms(checkout):
    fake_vmrun(checkout)
    write_vmware(checkout, "[]")
    path, reason = launch.daemon_config(checkout)
    assert path == checkout / "configs" / "sim.yaml" and "lists no VMs" in reason


def test_vmware_when_vmrun_is_found_and_vms_are_listed(checkout):
    vmrun = fake_vmrun(checkout)
    write_vmware(checkout, "[{vmx: /vms/a.vmx}, {vmx: /vms/b.vmx}]")
    path, reason = launch.daemon_config(checkout)
    assert path == checkout / "configs" / "vmware.yaml" and str(vmrun) in reason and "2 VMs" in reason


def test_environment_overrides_the_choice_and_the_port(checkout, monkeypatch):
    monkeypatch.setenv("OSWORLD_DAEMON_CONFIG", str(checkout / "mine.yaml"))
    monkeypatch.setenv("OSWORLD_PORT", "18555")
    assert launch.daemon_config(checkout)[0] == checkout / "mine.yaml"
    assert launch.daemon_argv(checkout)[-4:] == ["--config", str(checkout / "mine.yaml"), "--port", "18555"]
    assert launch.daemon_port(checkout) == 18555


def test_port_comes_from_the_chosen_config(checkout):
    assert launch.daemon_port(checkout) == 18999
    assert "--port" not in launch.daemon_argv(checkout)


def test_tunnel_program_starts_without_a_config_and_waits_for_it_there(checkout, monkeypatch):
    started = []
    monkeypatch.setattr(launch.os, "execv", lambda path, argv: started.append(argv))
    launch.main(["tunnel", "--checkout", str(checkout)])
    assert started == [[launch.sys.executable, "-m", "tunnel",
                        "--config", str(checkout / "configs" / "tunnel.yaml")]]


def test_show_prints_the_choice_and_starts_nothing(checkout, capsys, monkeypatch):
    write_vmware(checkout, "[{vmx: /vms/a.vmx}]")
    monkeypatch.setattr(launch.os, "execv", lambda *args: pytest.fail(f"--show started {args}"))
    launch.main(["daemon", "--checkout", str(checkout), "--show"])
    assert capsys.readouterr().out.strip() == (f"daemon config: {checkout / 'configs' / 'sim.yaml'} "
                                               "(vmrun not found: simulated VMware)")


def test_daemon_program_replaces_itself_with_python_m_daemon(checkout, monkeypatch):
    started = []
    monkeypatch.setattr(launch.os, "execv", lambda path, argv: started.append(argv))
    launch.main(["daemon", "--checkout", str(checkout)])
    assert started == [[launch.sys.executable, "-m", "daemon",
                        "--config", str(checkout / "configs" / "sim.yaml")]]
