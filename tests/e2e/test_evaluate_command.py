"""`adhere evaluate` as a user runs it: the installed command, files, stdin, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"
SCENARIOS = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".result.json"))
ADHERE = shutil.which("adhere") or str(Path(__file__).parents[2] / ".venv" / "bin" / "adhere")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ADHERE, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_every_example_has_its_expected_result():
    assert len(SCENARIOS) >= 3


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_examples_evaluate_to_their_checked_in_results(scenario: Path):
    result = run("evaluate", str(scenario))
    assert result.returncode == 0, result.stderr
    expected = json.loads(scenario.with_suffix(".result.json").read_text())
    assert json.loads(result.stdout) == expected


def test_standard_input_is_read_with_a_dash():
    scenario = SCENARIOS[0]
    from_stdin = run("evaluate", "-", stdin=scenario.read_text())
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert json.loads(from_stdin.stdout) == json.loads(run("evaluate", str(scenario)).stdout)


def _broken(mutate) -> str:
    document = json.loads((EXAMPLES / "normal-day.json").read_text())
    mutate(document)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (
            lambda d: d["events"][3].update(system_presence="Lunch"),
            "events[3] (id 'a4').system_presence: unknown system presence 'Lunch'",
        ),
        (
            lambda d: d["schedules"][0]["activities"][1].update(start="2026-06-02T08:50:00Z"),
            "agent 'ana': activity starting 2026-06-02T08:50:00Z overlaps activity starting "
            "2026-06-02T07:00:00Z",
        ),
        (
            lambda d: d["schedules"][1]["activities"][0].update(activity_code_id="nap"),
            "unknown activity code 'nap'",
        ),
        (lambda d: d["events"][0].update(agent_id="zoe"), "agent 'zoe' is not listed in agents"),
        (
            lambda d: d["window"].update(end="2026-06-01T00:00:00Z"),
            "window.end: the window ends before it starts",
        ),
        (
            lambda d: d["events"][0].update(time="2026-06-02T06:58:00"),
            "events[0] (id 'a1').time: '2026-06-02T06:58:00' has no UTC offset",
        ),
        (
            lambda d: d["management_unit"].update(time_zone="Europe/Atlantis"),
            "management_unit.time_zone: unknown IANA time zone 'Europe/Atlantis'",
        ),
    ],
    ids=["presence", "overlap", "code", "agent", "window", "offset", "zone"],
)
def test_an_invalid_scenario_fails_naming_the_item_and_prints_nothing(mutate, named):
    result = run("evaluate", "-", stdin=_broken(mutate))
    assert result.returncode != 0
    assert result.stdout == ""
    assert named in result.stderr


def test_unreadable_input_is_a_clear_error():
    missing = run("evaluate", "/nonexistent/scenario.json")
    assert missing.returncode != 0
    assert "cannot read /nonexistent/scenario.json" in missing.stderr
    garbage = run("evaluate", "-", stdin="{not json")
    assert garbage.returncode != 0
    assert "is not valid JSON" in garbage.stderr
    assert garbage.stdout == ""
