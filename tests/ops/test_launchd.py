"""daemon.ops.launchd: the LaunchAgent plist for this checkout, install and uninstall."""
from __future__ import annotations

import plistlib

import pytest

from daemon.ops import launchd
from tests.support import ROOT


def test_install_writes_an_agent_running_supervisord_in_the_foreground(tmp_path, capsys):
    launchd.main(["install", "--checkout", str(ROOT), "--agents-dir", str(tmp_path), "--label", "test.agent"])
    plist = plistlib.loads((tmp_path / "test.agent.plist").read_bytes())
    assert plist["Label"] == "test.agent"
    assert plist["ProgramArguments"] == [str(ROOT / ".venv" / "bin" / "supervisord"), "-n", "-c",
                                         str(ROOT / "supervisord.conf")]
    assert plist["WorkingDirectory"] == str(ROOT) and plist["RunAtLoad"] is True
    assert plist["ExitTimeOut"] > 90                # longer than supervisord.conf's stopwaitsecs: drain first
    assert plist["StandardErrorPath"].startswith(str(ROOT / "run" / "logs"))
    assert "launchctl bootstrap gui/" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["test.agent.plist"]          # no temp file left


def test_print_matches_install(tmp_path, capsys):
    launchd.main(["print", "--checkout", str(ROOT), "--label", "test.agent"])
    printed = capsys.readouterr().out.encode()
    launchd.main(["install", "--checkout", str(ROOT), "--agents-dir", str(tmp_path), "--label", "test.agent"])
    assert (tmp_path / "test.agent.plist").read_bytes() == printed


def test_uninstall_removes_the_plist_and_says_how_to_bootout(tmp_path, capsys):
    launchd.main(["install", "--checkout", str(ROOT), "--agents-dir", str(tmp_path), "--label", "test.agent"])
    launchd.main(["uninstall", "--agents-dir", str(tmp_path), "--label", "test.agent"])
    assert not (tmp_path / "test.agent.plist").exists()
    assert "launchctl bootout gui/" in capsys.readouterr().out
    launchd.main(["uninstall", "--agents-dir", str(tmp_path), "--label", "test.agent"])
    assert "no agent test.agent" in capsys.readouterr().out


def test_a_directory_that_is_not_an_installed_checkout_is_refused(tmp_path):
    with pytest.raises(SystemExit) as exited:
        launchd.main(["install", "--checkout", str(tmp_path), "--agents-dir", str(tmp_path / "agents")])
    assert "supervisord.conf not found" in str(exited.value.code)
    assert not (tmp_path / "agents").exists()
