"""Schemathesis against the OpenAPI document a running `adhere serve` publishes: generated
requests (valid and invalid) with an admin token holding every scope, on a database seeded so
that some requests name a real management unit, activity code, team, agent and explanation.

Every response must be no 5xx, carry a status code the document lists for the operation, and
match the schema the document gives for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.e2e.service_process import (
    ALL_SCOPES,
    RunningServer,
    api_client,
    create_client,
    fetch_token,
    running_server,
)

SEED = 20260602
MAX_EXAMPLES = 25
UNIT, TEAM, AGENT = "mu-fuzz", "team-fuzz", "agent-fuzz"
CODES = {"oq": "OnQueueWork", "brk": "Break"}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
SEEDED_PARAMETERS = (
    ("path", "unit_id", "units"),
    ("path", "code_id", "codes"),
    ("path", "team_id", "teams"),
    ("path", "agent_id", "agents"),
    ("path", "explanation_id", "explanations"),
    ("query", "management_unit_id", "units"),
    ("query", "team_id", "teams"),
    ("query", "agent_id", "agents"),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    with running_server(f"sqlite:///{workdir / 'adhere.db'}", workdir) as started:
        yield started


@pytest.fixture(scope="module")
def admin_token(server: RunningServer) -> str:
    client = create_client(server.database_url, "e2e-schemathesis", ALL_SCOPES)
    return fetch_token(server.base_url, client)


@pytest.fixture(scope="module")
def seeded(server: RunningServer, admin_token: str) -> dict[str, list[str]]:
    """A unit, codes, a team, an agent with a schedule around now, events, an explanation;
    returns the ids requests should sometimes use, by kind."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=1)
    with api_client(server.base_url, admin_token) as api:
        _ok(api.put(f"/api/v1/management-units/{UNIT}", json={"time_zone": "Europe/Paris"}))
        for code, category in CODES.items():
            _ok(
                api.put(
                    f"/api/v1/management-units/{UNIT}/activity-codes/{code}",
                    json={"category": category},
                )
            )
        _ok(api.put(f"/api/v1/teams/{TEAM}", json={"management_unit_id": UNIT}))
        _ok(api.put(f"/api/v1/agents/{AGENT}", json={"management_unit_id": UNIT, "team_id": TEAM}))
        _ok(
            api.put(
                f"/api/v1/agents/{AGENT}/schedule",
                json={
                    "start": _rfc3339(start),
                    "end": _rfc3339(start + timedelta(hours=8)),
                    "activities": [
                        {"start": _rfc3339(start), "length_minutes": 90, "activity_code_id": "oq"},
                        {
                            "start": _rfc3339(start + timedelta(minutes=90)),
                            "length_minutes": 15,
                            "activity_code_id": "brk",
                        },
                    ],
                },
            )
        )
        _ok(
            api.post(
                "/api/v1/events",
                json={
                    "id": "fuzz-1",
                    "agent_id": AGENT,
                    "time": _rfc3339(start + timedelta(minutes=5)),
                    "kind": "login",
                    "system_presence": "OnQueue",
                    "routing_status": "IDLE",
                },
            )
        )
        explanation = api.post(
            "/api/v1/explanations",
            json={"agent_id": AGENT, "start": _rfc3339(start), "length_minutes": 5},
        )
        _ok(explanation)
    return {
        "units": [UNIT],
        "codes": list(CODES),
        "teams": [TEAM],
        "agents": [AGENT],
        "explanations": [explanation.json()["id"]],
    }


@pytest.fixture(scope="module")
def api_schema(server: RunningServer, seeded: dict[str, list[str]]) -> BaseSchema:
    """The document the server serves, with path and query parameters that name seeded
    records half of the time (the rest are generated)."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "dictionaries": {name: {"values": values} for name, values in seeded.items()},
            "parameters": {
                f"{location}.{name}": {"dictionary": dictionary, "probability": 0.5}
                for location, name, dictionary in SEEDED_PARAMETERS
            },
        }
    )
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", config=config)


def test_the_document_lists_the_api(api_schema: BaseSchema):
    labels = {operation.label for operation in _operations(api_schema)}
    assert "POST /api/v1/events" in labels
    assert "POST /api/v1/adherence/historical" in labels
    assert "PUT /api/v1/agents/{agent_id}/schedule" in labels
    assert len(labels) >= 25


def test_every_response_is_documented_and_no_5xx(
    api_schema: BaseSchema, admin_token: str, subtests: pytest.Subtests
):
    """Positive and negative requests for every operation; per operation, the first failure
    of each check is reported with the request that caused it (as a curl command)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    for operation in _operations(api_schema):
        with subtests.test(operation=operation.label):
            failures = _fuzz(operation, headers)
            assert not failures, "\n\n".join(failures.values())


def _operations(schema: BaseSchema) -> list[APIOperation]:
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation: APIOperation, headers: dict[str, str]) -> dict[str, str]:
    """The first failure report per check title, from MAX_EXAMPLES cases in each mode."""
    failures: dict[str, str] = {}
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Case) -> None:
            try:
                case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
            except FailureGroup as group:
                for failure in group.exceptions:
                    failures.setdefault(f"{failure.title}", f"[{mode}] {group.message}")

        run()
    return failures


def _ok(response: Any) -> None:
    assert response.status_code < 300, response.text


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
