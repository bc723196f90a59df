"""Schemathesis against the OpenAPI document a running `adhere serve` publishes.

Generated requests, valid (positive) and invalid (negative), for every operation, with an
admin token holding every scope, on a database seeded so that path and query parameters name a
real management unit, activity code, team, agent or explanation half of the time. Every
response must not be a 5xx and must match the schema the document gives for it; its status code
must be one the document lists. Every `$ref` in the document must resolve, or the generator
silently sends requests without the body the route needs.

Schemathesis' pytest loader for fixtures (`schemathesis.pytest.from_fixture`) fails under
pytest 9 (it writes `Node._nodeid`, which pytest 9 removed), so the operations are driven
with the documented `APIOperation.as_strategy()` and Hypothesis, with a fixed seed: each run
sends the same requests. Failures found with other seeds are replayed as they were found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.conftest import fresh_postgres_database
from tests.e2e.service_process import (
    ALL_SCOPES,
    RunningServer,
    api_client,
    create_client,
    fetch_token,
    running_server,
)

SEED = 20260602
# Cases per operation: valid ones, then invalid ones (where something can be made invalid).
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}
UNIT, TEAM, AGENT = "mu-fuzz", "team-fuzz", "agent-fuzz"
CODES = {"oq": "OnQueueWork", "brk": "Break"}
CHECKS: tuple[Callable[..., Any], ...] = (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
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
# By check name, by operation: the first failure's report (it holds a curl reproduction).
Report = dict[str, dict[str, str]]
# Endless by design (server-sent events): a fuzzed request would wait on it forever.
ENDLESS = {"GET /api/v1/adherence/stream"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    if request.param == "sqlite":
        with running_server(f"sqlite:///{workdir / 'adhere.db'}", workdir) as started:
            yield started
        return
    with fresh_postgres_database() as url, running_server(url, workdir) as started:
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
def document(server: RunningServer) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/openapi.json", timeout=10)
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


@pytest.fixture(scope="module")
def api_schema(server: RunningServer, seeded: dict[str, list[str]]) -> BaseSchema:
    config = SchemathesisConfig.from_dict(
        {
            "dictionaries": {name: {"values": values} for name, values in seeded.items()},
            "parameters": {
                f"{location}.{name}": {"dictionary": dictionary, "probability": 0.5}
                for location, name, dictionary in SEEDED_PARAMETERS
            },
        }
    )
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", config=config)


@pytest.fixture(scope="module")
def report(api_schema: BaseSchema, admin_token: str) -> Report:
    """Every operation fuzzed once; each test below reads the failures of one check."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    found: Report = {check.__name__: {} for check in CHECKS}
    for operation in _operations(api_schema):
        for mode in EXAMPLES:
            _fuzz(operation, mode, headers, found)
    return found


def test_every_reference_in_the_document_resolves(document: dict[str, Any]):
    dangling = sorted(
        {f"{where}: {ref}" for where, ref in _references(document) if not _resolves(document, ref)}
    )
    assert not dangling, "unresolvable $ref in /openapi.json:\n" + "\n".join(dangling)


def test_the_document_lists_the_api(api_schema: BaseSchema):
    labels = {operation.label for operation in _operations(api_schema)}
    assert {
        "POST /oauth/token",
        "POST /api/v1/events",
        "GET /api/v1/adherence/realtime",
        "POST /api/v1/adherence/historical",
        "PUT /api/v1/agents/{agent_id}/schedule",
        "PUT /api/v1/management-units/{unit_id}/activity-codes/{code_id}",
    } <= labels


def test_no_request_gets_a_server_error(report: Report):
    _assert_none(report, not_a_server_error)


def test_every_response_matches_its_documented_schema(report: Report):
    _assert_none(report, response_schema_conformance)


def test_every_status_code_is_documented(report: Report):
    _assert_none(report, status_code_conformance)


# Requests the fuzzer found failing once (on some seed): replayed on every run, as found.
FOUND_BY_FUZZING = [
    pytest.param(
        "POST",
        "/api/v1/schedules/import",
        {"body": "QóÅü4\r£X\t\U000119a9\x08", "media_type": "text/csv"},
        id="csv-with-a-bare-carriage-return",
    ),
]


@pytest.mark.parametrize(("method", "path", "request_data"), FOUND_BY_FUZZING)
def test_requests_found_by_fuzzing_stay_fixed(
    api_schema: BaseSchema, admin_token: str, method: str, path: str, request_data: dict[str, Any]
):
    headers = {"Authorization": f"Bearer {admin_token}"}
    case = api_schema[path][method].Case(**request_data)
    response = case.call(headers=headers, timeout=30)
    case.validate_response(response, checks=list(CHECKS), headers=headers)


def _assert_none(report: Report, check: Callable[..., Any]) -> None:
    failures = report[check.__name__]
    assert not failures, (
        f"{check.__name__} failed for {len(failures)} operation(s): {sorted(failures)}\n\n"
        + "\n\n".join(f"== {label}\n{text}" for label, text in sorted(failures.items()))
    )


def _operations(schema: BaseSchema) -> list[APIOperation]:
    operations = (result.ok() for result in schema.get_all_operations())
    return [operation for operation in operations if operation.label not in ENDLESS]


def _fuzz(
    operation: APIOperation, mode: GenerationMode, headers: dict[str, str], found: Report
) -> None:
    """EXAMPLES[mode] cases of `mode`; records the first failure of each check."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @seed(SEED)
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        response = case.call(headers=headers, timeout=30)
        for check in CHECKS:
            try:
                case.validate_response(response, checks=[check], headers=headers)
            except FailureGroup as failure:
                found[check.__name__].setdefault(operation.label, f"[{mode}] {failure.message}")

    try:
        run()
    except Unsatisfiable:
        # Nothing in the operation can be made invalid (no parameters, or only free text).
        if mode is not GenerationMode.NEGATIVE:
            raise


def _references(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _references(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _references(value, f"{where}/{index}")


def _resolves(document: dict[str, Any], ref: str) -> bool:
    """A local JSON pointer (RFC 6901) found in the document; no schema here sets `$id`."""
    if not ref.startswith("#/"):
        return False
    node: Any = document
    for token in ref[2:].split("/"):
        name = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return True


def _ok(response: httpx.Response) -> None:
    assert response.status_code < 300, response.text


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
