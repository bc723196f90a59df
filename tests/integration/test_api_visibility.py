"""Whose data a person sees: an agent user only themself, a supervisor their teams or units."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.conftest import Api, Caller, iso, minutes, now, setup_unit
from tests.integration.people import Browser, logged_in, person

TEAMS = {"lee": "t1", "ann": "t1", "kim": "t2"}


@pytest.fixture
def world(api: Api, admin: Caller) -> dict[str, str]:
    """Unit nyc: lee and ann in team t1, kim in t2, all scheduled on queue; an explanation of
    kim's, by an administrator. Users: lee (agent), sue (supervisor of t1), boss (supervisor)."""
    setup_unit(admin, agents=())
    for team in ("t1", "t2"):
        assert admin.put(f"/api/v1/teams/{team}", json={"management_unit_id": "nyc"}).is_success
    start = now() - minutes(20)
    for agent, team in TEAMS.items():
        body = {"management_unit_id": "nyc", "team_id": team}
        assert admin.put(f"/api/v1/agents/{agent}", json=body).status_code == 201
        assert admin.put(f"/api/v1/agents/{agent}/schedule", json=_schedule(start)).is_success
    person(api, "lee", "agent", agent_id="lee")
    person(api, "sue", "supervisor", team_ids=["t1"])
    person(api, "boss", "supervisor")
    kims = admin.post("/api/v1/explanations", json=_explanation("kim"))
    assert kims.status_code == 201
    return {"kim": kims.json()["id"]}


def _schedule(start: Any) -> dict[str, Any]:
    return {
        "start": iso(start),
        "end": iso(start + minutes(120)),
        "activities": [{"start": iso(start), "length_minutes": 120, "activity_code_id": "oq"}],
    }


def _explanation(agent: str) -> dict[str, Any]:
    return {"agent_id": agent, "start": iso(now() - minutes(20)), "length_minutes": 5}


def _forbidden(response: httpx.Response, agent: str | None = None) -> None:
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["code"] == "auth.forbidden_agent"
    if agent is not None:
        assert problem["agent_id"] == agent
        assert repr(agent) in problem["detail"]


def _realtime(browser: Browser, **params: Any) -> list[str]:
    response = browser.get("/api/v1/adherence/realtime", params=params)
    assert response.status_code == 200, response.text
    return sorted(row["agent_id"] for row in response.json()["items"])


def _historical(browser: Browser, **selection: Any) -> httpx.Response:
    window = {"start": iso(now() - minutes(30)), "end": iso(now())}
    return browser.send("POST", "/api/v1/adherence/historical", json={**selection, **window})


def _historical_agents(browser: Browser, **selection: Any) -> list[str]:
    response = _historical(browser, **selection)
    assert response.status_code == 200, response.text
    return sorted(agent["agent_id"] for agent in response.json()["agents"])


def test_an_agent_user_sees_only_their_own_adherence(api: Api, world: dict[str, str]) -> None:
    lee = logged_in(api, "lee")
    assert _realtime(lee, agent_id="lee") == ["lee"]
    _forbidden(lee.get("/api/v1/adherence/realtime", params={"agent_id": "kim"}), "kim")
    _forbidden(lee.get("/api/v1/adherence/realtime", params={"agent_id": ["lee", "kim"]}), "kim")
    assert _realtime(lee, management_unit_id="nyc") == ["lee"]
    assert _realtime(lee, team_id="t2") == []
    assert lee.get("/api/v1/agents/lee/adherence").json()["agent_id"] == "lee"
    _forbidden(lee.get("/api/v1/agents/kim/adherence"), "kim")
    assert _historical_agents(lee, agent_ids=["lee"]) == ["lee"]
    _forbidden(_historical(lee, agent_ids=["lee", "kim"]), "kim")
    assert _historical_agents(lee, management_unit_id="nyc") == ["lee"]
    _forbidden(_historical(lee, team_id="t2"))


def test_an_agent_user_reads_only_their_own_schedule_and_changes_none(
    api: Api, admin: Caller, world: dict[str, str]
) -> None:
    lee = logged_in(api, "lee")
    assert lee.get("/api/v1/agents/lee/schedule").json()["agent_id"] == "lee"
    _forbidden(lee.get("/api/v1/agents/kim/schedule"), "kim")
    start = now() - minutes(10)
    before = admin.get("/api/v1/agents/lee/schedule").json()
    own = lee.send("PUT", "/api/v1/agents/lee/schedule", json=_schedule(start))
    assert own.status_code == 403
    assert own.json()["code"] == "auth.forbidden_role"
    assert admin.get("/api/v1/agents/lee/schedule").json() == before
    bulk = lee.send(
        "POST",
        "/api/v1/schedules/import",
        json={"schedules": [{"agent_id": "lee", **_schedule(start)}]},
    )
    assert bulk.status_code == 403
    assert bulk.json()["code"] == "auth.limited_visibility"
    assert "only agent 'lee'" in bulk.json()["detail"]


def test_an_agent_user_explains_but_never_decides(
    api: Api, admin: Caller, world: dict[str, str]
) -> None:
    lee = logged_in(api, "lee")
    own = lee.send("POST", "/api/v1/explanations", json=_explanation("lee"))
    assert own.status_code == 201, own.text
    _forbidden(lee.send("POST", "/api/v1/explanations", json=_explanation("kim")), "kim")
    listed = lee.get("/api/v1/explanations").json()["items"]
    assert [item["id"] for item in listed] == [own.json()["id"]]
    assert len(admin.get("/api/v1/explanations").json()["items"]) == 2
    assert lee.get(f"/api/v1/explanations/{own.json()['id']}").status_code == 200
    _forbidden(lee.get(f"/api/v1/explanations/{world['kim']}"), "kim")
    for decision in ("approve", "deny"):
        refused = lee.send("POST", f"/api/v1/explanations/{own.json()['id']}/{decision}")
        assert refused.status_code == 403
        assert refused.json()["code"] == "auth.forbidden_role"
        assert "'agent'" in refused.json()["detail"]
    assert lee.get(f"/api/v1/explanations/{own.json()['id']}").json()["status"] == "Pending"


def test_an_agent_user_sees_only_themself_among_agents_and_changes_none(
    api: Api, world: dict[str, str]
) -> None:
    lee = logged_in(api, "lee")
    assert [agent["id"] for agent in lee.get("/api/v1/agents").json()["items"]] == ["lee"]
    assert lee.get("/api/v1/agents/lee").status_code == 200
    _forbidden(lee.get("/api/v1/agents/kim"), "kim")
    for url, body in (
        ("/api/v1/agents/lee", {"management_unit_id": "nyc", "name": "Boss"}),
        ("/api/v1/teams/t3", {"management_unit_id": "nyc"}),
        ("/api/v1/management-units/nyc", {"time_zone": "UTC"}),
        ("/api/v1/management-units/nyc/activity-codes/oq", {"category": "Break"}),
    ):
        refused = lee.send("PUT", url, json=body)
        assert refused.status_code == 403, url
        assert refused.json()["code"] == "auth.limited_visibility"
    assert lee.get("/api/v1/agents/lee").json()["name"] == "lee"


def test_a_team_supervisor_sees_only_their_teams_agents(
    api: Api, admin: Caller, world: dict[str, str]
) -> None:
    sue = logged_in(api, "sue")
    assert _realtime(sue, management_unit_id="nyc") == ["ann", "lee"]
    assert _realtime(sue, team_id="t2") == []
    _forbidden(sue.get("/api/v1/adherence/realtime", params={"agent_id": "kim"}), "kim")
    assert _historical_agents(sue, management_unit_id="nyc") == ["ann", "lee"]
    assert _historical_agents(sue, team_id="t1") == ["ann", "lee"]
    _forbidden(_historical(sue, team_id="t2"))
    assert sorted(a["id"] for a in sue.get("/api/v1/agents").json()["items"]) == ["ann", "lee"]
    start = now() - minutes(10)
    kims = admin.get("/api/v1/agents/kim/schedule").json()
    assert sue.send("PUT", "/api/v1/agents/lee/schedule", json=_schedule(start)).status_code == 200
    _forbidden(sue.send("PUT", "/api/v1/agents/kim/schedule", json=_schedule(start)), "kim")
    assert admin.get("/api/v1/agents/kim/schedule").json() == kims
    lees = admin.post("/api/v1/explanations", json=_explanation("lee")).json()["id"]
    assert [item["id"] for item in sue.get("/api/v1/explanations").json()["items"]] == [lees]
    approved = sue.send("POST", f"/api/v1/explanations/{lees}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "Approved"
    _forbidden(sue.send("POST", f"/api/v1/explanations/{world['kim']}/approve"), "kim")
    assert admin.get(f"/api/v1/explanations/{world['kim']}").json()["status"] == "Pending"


def test_an_unlimited_supervisor_sees_everyone(api: Api, world: dict[str, str]) -> None:
    boss = logged_in(api, "boss")
    assert _realtime(boss, management_unit_id="nyc") == ["ann", "kim", "lee"]
    assert _historical_agents(boss, team_id="t2") == ["kim"]
    approved = boss.send("POST", f"/api/v1/explanations/{world['kim']}/deny")
    assert approved.json()["status"] == "Denied"
