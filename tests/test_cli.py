from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmgw_desktop import __version__
from llmgw_desktop.cli import EXIT_CONFIG, display_problem, main


def test_config_show_prints_values_and_their_sources(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path.write_text("[http]\nport = 4100\n")
    monkeypatch.setenv("SYNC_DEADLINE_MS", "2000")
    assert main(["config", "--show"]) == 0
    out = capsys.readouterr().out
    lines = {" ".join(line.split()) for line in out.splitlines()}  # ignore column padding
    assert f"# settings file: {config_path}" in lines
    assert f"http.port = 4100 # file {config_path}" in lines
    assert "jobs.sync_deadline_ms = 2000 # env SYNC_DEADLINE_MS" in lines
    assert 'http.host = "127.0.0.1" # default; env LLM_GATEWAY_HTTP_HOST' in lines


def test_config_show_json_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_key = {row["key"]: row for row in data["settings"]}
    assert by_key["http.port"]["value"] == 3333
    assert by_key["http.port"]["env"] == "LLM_GATEWAY_HTTP_PORT"


def test_bad_setting_stops_with_one_clear_message(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path.write_text("[http]\nport = 99999\n")
    assert main(["--headless"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "bad setting http.port: 99999 is out of range" in err
    assert str(config_path) in err
    assert "Traceback" not in err


def test_explicit_config_flag_wins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.toml"
    other.write_text("[http]\nport = 4200\n")
    assert main(["--config", str(other), "config", "--show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config_file"] == str(other)


def test_version_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"llmgw-desktop {__version__}"


@pytest.mark.parametrize(
    ("env", "platform", "problem"),
    [
        ({}, "linux", "no display found"),
        ({"DISPLAY": ":0"}, "linux", None),
        ({"DISPLAY": ":987"}, "linux", "not reachable"),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", None),
        ({"WAYLAND_DISPLAY": "/run/user/1/wayland-0"}, "linux", None),
        ({}, "win32", None),
        ({}, "darwin", None),
    ],
)
def test_display_detection(
    env: dict[str, str], platform: str, problem: str | None, tmp_path: Path
) -> None:
    if env.get("DISPLAY") == ":0" and not Path("/tmp/.X11-unix/X0").exists():
        env = {"DISPLAY": "remote-host:0"}  # a remote display cannot be checked: trust it
    found = display_problem(env, platform)
    assert (found is None) if problem is None else (problem in (found or ""))
