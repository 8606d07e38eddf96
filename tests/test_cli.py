from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmgw_desktop import __version__
from llmgw_desktop.shell.cli.main import main
from llmgw_desktop.shell.cli.preflight import display_problem
from llmgw_desktop.shell.exit_codes import EXIT_CONFIG, EXIT_ROWS_LOST, rows_lost_at_stop
from tests.child_python import run_python


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


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[http]\nport = 4100\nallowed_hosts = ["https://x/"]\n', "bad setting http.allowed_hosts"),
        ("[http\nport = 4100\n", "is not valid TOML"),
    ],
    ids=["a refused value", "not TOML"],
)
def test_config_shows_the_file_and_its_settings_while_it_holds_what_a_start_refuses(
    config_path: Path, text: str, said: str
) -> None:
    """How a person finds the file to fix: the real command, with every setting it can show
    and each refusal on stderr (exit 2, as a start would)."""
    config_path.write_text(text, encoding="utf-8")
    result = run_python("-m", "llmgw_desktop", "config", "--show")
    assert result.returncode == EXIT_CONFIG, result.stderr
    lines = {" ".join(line.split()) for line in result.stdout.splitlines()}
    assert f"# settings file: {config_path}" in lines
    assert ("http.port = 4100 # file " + str(config_path) in lines) is (said != "is not valid TOML")
    assert said in result.stderr and str(config_path) in result.stderr
    assert "Traceback" not in result.stderr


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


def test_a_missing_config_file_named_on_the_command_line_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.toml"
    assert main(["--config", str(missing), "config", "--show"]) == EXIT_CONFIG
    captured = capsys.readouterr()
    assert f"the settings file {missing} does not exist" in captured.err
    assert captured.out == ""


def test_every_bad_setting_is_reported_not_only_the_first(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path.write_text('[http]\nport = 99999\nhots = "x"\n[jobs]\nsync_deadline_ms = "soon"\n')
    monkeypatch.setenv("LLM_GATEWAY_LOG_LEVEL", "LOUD")
    assert main(["--headless"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "bad setting http.hots: is not a known setting" in err
    assert "bad setting http.port: 99999 is out of range" in err
    assert "bad setting jobs.sync_deadline_ms: 'soon' is not a whole number" in err
    assert "bad setting log.level" in err
    assert "Fix the values (or remove them" in err


def test_config_show_names_the_real_data_dir_log_dir_and_database(
    isolated_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLM_GATEWAY_DATA_DIR")
    monkeypatch.delenv("LLM_GATEWAY_LOG_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(isolated_env / "xdg-data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(isolated_env / "xdg-state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated_env / "xdg-cache"))
    assert main(["config", "--show", "--json"]) == 0
    values = {row["key"]: row["value"] for row in json.loads(capsys.readouterr().out)["settings"]}
    data_dir = Path(values["paths.data_dir"])
    assert data_dir.is_absolute() and str(data_dir).startswith(str(isolated_env / "xdg-data"))
    assert Path(values["store.db_path"]) == data_dir / "llmgw.db"
    assert Path(values["paths.log_dir"]).is_absolute() and values["paths.log_dir"] != ""


def test_config_show_into_a_pipe_closed_early_ends_quietly(isolated_env: Path) -> None:
    # `llmgw-desktop config --show | head -1`: the reader leaves after one line.
    child = subprocess.Popen(
        [sys.executable, "-m", "llmgw_desktop", "config", "--show"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()  # as `head -1` does
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 0, err
    assert first.startswith(b"# settings file:")
    assert "BrokenPipeError" not in err and "Traceback" not in err, err


@pytest.mark.parametrize(
    "command",
    [[], ["config"], ["version"], ["hash-password"], ["mcp"], ["db"], ["db", "copy"]],
    ids=lambda c: " ".join(c) or "(top)",
)
def test_each_help_says_what_the_command_does_with_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([*command, "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    _, _, rest = out.partition("\n\n")  # after the usage
    assert rest.split("\n")[0].strip(), f"no description after the usage line:\n{out}"
    examples = out[out.index("examples:") :].splitlines()[1:]
    assert examples and all(line.startswith("  ") for line in examples), out
    assert "llmgw-desktop" in "\n".join(examples) or command == ["mcp"], out


def test_mcp_tells_a_data_dir_problem_from_any_other_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the lock file's failure points at the data directory; a broken pipe or a refused
    connection while serving is reported as itself."""
    import errno

    from llmgw_desktop.shell import stdio_mode

    def pipe_broke(loaded: object) -> int:
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    monkeypatch.setattr(stdio_mode, "run_stdio", pipe_broke)
    assert main(["mcp"]) == 1
    said = capsys.readouterr().err
    assert "stdio MCP stopped" in said and "Cannot assign requested address" in said
    assert "move it out of the way" not in said

    def lock_refused(loaded: object) -> int:
        error = OSError(errno.EISDIR, "Is a directory", "/data/instance.lock")
        raise stdio_mode.LockFileUnusable(error)

    monkeypatch.setattr(stdio_mode, "run_stdio", lock_refused)
    assert main(["mcp"]) == 4
    said = capsys.readouterr().err
    assert "cannot open /data/instance.lock" in said and "move it out of the way" in said


def test_the_command_names_agree_with_their_modules() -> None:
    # `parser.COMMAND_MODULES` names each command beside its module, so a start imports only
    # the module of the command it names (tests/test_startup_imports.py).
    from llmgw_desktop.shell.cli.parser import COMMAND_MODULES, all_commands

    assert [c.name for c in all_commands()] == list(COMMAND_MODULES)


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["--headless"],
        ["--head", "-v"],
        ["--headless", "--workers", "2", "--config", "mcp"],
        ["--config", "/tmp/x.toml", "mcp"],
        ["mcp"],
        ["-v", "keys", "list"],
        ["db", "copy", "--to", "postgresql://u@h/d"],
        ["--headless", "--workers", "0"],
        ["--headless", "mcp", "keys"],
        ["--nope"],
        ["nope"],
        ["keys", "--nope"],
        ["--config", "mcp", "keys", "list"],
    ],
    ids=lambda w: " ".join(w) or "(none)",
)
def test_the_narrow_parse_answers_as_the_whole_parser_does(
    words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`parse_command_line` builds only the parsers the words can use: its answer, a
    refusal's message and exit code included, is the whole parser's."""
    from llmgw_desktop.shell.cli.parser import build_parser, parse_command_line

    def outcome(parse: object) -> tuple[object, str, str]:
        try:
            answer: object = parse()  # type: ignore[operator]
        except SystemExit as stopped:
            answer = ("exit", stopped.code)
        seen = capsys.readouterr()
        return answer, seen.out, seen.err

    narrow = outcome(lambda: vars(parse_command_line(words)[0]))
    whole = outcome(lambda: vars(build_parser().parse_args(words)))
    assert narrow == whole


def test_a_stop_that_lost_rows_exits_5_and_says_how_many(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The one rule headless, the window and a workers' supervisor exit by at their stop."""
    assert rows_lost_at_stop(0) == 0
    assert capsys.readouterr().err == ""
    assert rows_lost_at_stop(24_879) == EXIT_ROWS_LOST == 5
    assert "24,879 flight-recorder row(s) were lost" in capsys.readouterr().err
