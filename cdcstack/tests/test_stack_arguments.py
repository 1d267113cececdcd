"""./stack's argument handling, without a stack: every command is replaced by a recorder, so
nothing starts, stops or is deleted here whatever the outcome."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stackctl import commands  # noqa: E402


@pytest.fixture
def ran(monkeypatch):
    calls = []
    recorders = {name: (lambda args, name=name: calls.append((name, args)) or 0) for name in commands.COMMANDS}
    monkeypatch.setattr(commands, "COMMANDS", recorders)
    monkeypatch.setattr(commands, "command_lock", lambda command: _no_lock())
    return calls


class _no_lock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("argv", [["reset", "--help"], ["reset", "-h"], ["down", "--help"], ["up", "-h"],
                                  ["logs", "kafka", "--help"]])
def test_help_after_a_command_explains_and_runs_nothing(ran, argv, capsys):
    assert commands.main(argv) == 0
    assert ran == []
    assert "Usage:" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["reset", "now"], ["down", "all"], ["status", "kafka"], ["up", "--fast"]])
def test_an_argument_a_command_does_not_take_is_refused(ran, argv, capsys):
    assert commands.main(argv) == 2
    assert ran == []
    err = capsys.readouterr().err
    assert f"{argv[0]} takes no arguments" in err and argv[1] in err


def test_commands_and_logs_arguments_still_run(ran):
    assert commands.main(["reset"]) == 0
    assert commands.main(["logs", "kafka", "-n", "5"]) == 0
    assert ran == [("reset", []), ("logs", ["kafka", "-n", "5"])]


def test_an_unknown_command_prints_the_usage_and_fails(ran, capsys):
    assert commands.main(["restart"]) == 2
    assert ran == []
    assert "Usage:" in capsys.readouterr().out
