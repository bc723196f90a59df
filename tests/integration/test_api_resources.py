"""Management units, activity codes, teams, agents and schedules through the API."""

from __future__ import annotations

from tests.integration.conftest import Caller, setup_unit


def test_management_unit_is_created_then_replaced(admin: Caller) -> None:
    body = {
        "name": "New York",
        "time_zone": "America/New_York",
        "settings": {"adherence_exception_threshold_seconds": 120},
    }
    created = admin.put("/api/v1/management-units/nyc", json=body)
    assert created.status_code == 201
    assert created.json()["settings"]["adherence_exception_threshold_seconds"] == 120
    assert created.json()["settings"]["severe_alert_threshold_minutes"] == 5  # the default
    replaced = admin.put("/api/v1/management-units/nyc", json={**body, "name": "NYC"})
    assert replaced.status_code == 200
    assert admin.get("/api/v1/management-units/nyc").json()["name"] == "NYC"
    assert [u["id"] for u in admin.get("/api/v1/management-units").json()["items"]] == ["nyc"]


def test_invalid_time_zone_is_a_problem_naming_the_field(admin: Caller) -> None:
    response = admin.put("/api/v1/management-units/x", json={"time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == "time_zone"
    assert "Mars/Olympus" in problem["detail"]
    assert admin.get("/api/v1/management-units/x").status_code == 404


def test_invalid_setting_names_the_setting(admin: Caller) -> None:
    response = admin.put(
        "/api/v1/management-units/x",
        json={"time_zone": "UTC", "settings": {"severe_alert_threshold_minutes": -1}},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "settings.severe_alert_threshold_minutes"


def test_wrong_types_are_problems_naming_the_field(admin: Caller) -> None:
    response = admin.put("/api/v1/management-units/x", json={"time_zone": 5})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "time_zone"
    response = admin.put(
        "/api/v1/management-units/x",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code in {400, 422}
    assert response.headers["content-type"] == "application/problem+json"


def test_agents_with_external_ids_and_teams(admin: Caller) -> None:
    setup_unit(admin, agents=())
    assert (
        admin.put(
            "/api/v1/teams/t1", json={"management_unit_id": "nyc", "name": "Team 1"}
        ).status_code
        == 201
    )
    response = admin.put(
        "/api/v1/agents/lee",
        json={
            "management_unit_id": "nyc",
            "team_id": "t1",
            "name": "Lee",
            "external_ids": {"genesys": "u-1"},
        },
    )
    assert response.status_code == 201
    assert admin.get("/api/v1/agents/lee").json()["external_ids"] == {"genesys": "u-1"}
    assert [
        a["id"] for a in admin.get("/api/v1/agents", params={"team_id": "t1"}).json()["items"]
    ] == ["lee"]


def test_agent_references_are_checked(admin: Caller) -> None:
    setup_unit(admin, agents=())
    unknown_unit = admin.put("/api/v1/agents/a", json={"management_unit_id": "nope"})
    assert unknown_unit.status_code == 422
    assert unknown_unit.json()["errors"][0]["field"] == "management_unit_id"
    unknown_team = admin.put(
        "/api/v1/agents/a", json={"management_unit_id": "nyc", "team_id": "t9"}
    )
    assert unknown_team.json()["errors"][0]["field"] == "team_id"
    assert admin.get("/api/v1/agents/a").status_code == 404


def test_unknown_activity_category_is_rejected(admin: Caller) -> None:
    setup_unit(admin, agents=())
    response = admin.put("/api/v1/management-units/nyc/activity-codes/x", json={"category": "Nap"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "category"


def test_schedule_replacement_cuts_activities_at_the_range_edges(admin: Caller) -> None:
    setup_unit(admin)
    first = {
        "start": "2026-06-02T13:00:00Z",
        "end": "2026-06-02T21:00:00Z",
        "activities": [
            {"start": "2026-06-02T13:00:00Z", "length_minutes": 480, "activity_code_id": "oq"}
        ],
    }
    assert admin.put("/api/v1/agents/lee/schedule", json=first).status_code == 200
    lunch = {
        "start": "2026-06-02T17:00:00Z",
        "end": "2026-06-02T17:30:00Z",
        "activities": [
            {
                "start": "2026-06-02T17:00:00Z",
                "end": "2026-06-02T17:30:00Z",
                "activity_code_id": "brk",
            }
        ],
    }
    assert admin.put("/api/v1/agents/lee/schedule", json=lunch).status_code == 200
    activities = admin.get("/api/v1/agents/lee/schedule").json()["activities"]
    assert [(a["start"], a["end"], a["activity_code_id"]) for a in activities] == [
        ("2026-06-02T13:00:00Z", "2026-06-02T17:00:00Z", "oq"),
        ("2026-06-02T17:00:00Z", "2026-06-02T17:30:00Z", "brk"),
        ("2026-06-02T17:30:00Z", "2026-06-02T21:00:00Z", "oq"),
    ]


def test_overlapping_activities_are_rejected_naming_both(admin: Caller) -> None:
    setup_unit(admin)
    body = {
        "start": "2026-06-02T13:00:00Z",
        "end": "2026-06-02T21:00:00Z",
        "activities": [
            {"start": "2026-06-02T13:00:00Z", "length_minutes": 120, "activity_code_id": "oq"},
            {"start": "2026-06-02T14:00:00Z", "length_minutes": 15, "activity_code_id": "brk"},
        ],
    }
    response = admin.put("/api/v1/agents/lee/schedule", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "2026-06-02T14:00:00Z" in detail
    assert "2026-06-02T13:00:00Z" in detail
    assert admin.get("/api/v1/agents/lee/schedule").json()["activities"] == []


def test_schedule_with_unknown_code_names_the_activity(admin: Caller) -> None:
    setup_unit(admin)
    body = {
        "start": "2026-06-02T13:00:00Z",
        "end": "2026-06-02T21:00:00Z",
        "activities": [
            {"start": "2026-06-02T13:00:00Z", "length_minutes": 60, "activity_code_id": "zzz"}
        ],
    }
    response = admin.put("/api/v1/agents/lee/schedule", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "activities[0].activity_code_id"


def test_bulk_import_json_and_csv(admin: Caller) -> None:
    setup_unit(admin, agents=("lee", "max"))
    document = {
        "schedules": [
            {
                "agent_id": "lee",
                "start": "2026-06-02T13:00:00Z",
                "end": "2026-06-02T21:00:00Z",
                "activities": [
                    {
                        "start": "2026-06-02T13:00:00Z",
                        "length_minutes": 480,
                        "activity_code_id": "oq",
                    }
                ],
            }
        ]
    }
    response = admin.post("/api/v1/schedules/import", json=document)
    assert response.json() == {"schedules": 1, "activities": 1}
    csv = (
        "agent_id,start,end,activity_code_id\n"
        "max,2026-06-02T13:00:00Z,2026-06-02T15:00:00Z,oq\n"
        "max,2026-06-02T15:00:00Z,2026-06-02T15:15:00Z,brk\n"
    )
    response = admin.post(
        "/api/v1/schedules/import", content=csv, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert len(admin.get("/api/v1/agents/max/schedule").json()["activities"]) == 2


def test_bulk_import_is_all_or_nothing(admin: Caller) -> None:
    setup_unit(admin, agents=("lee",))
    csv = (
        "agent_id,start,end,activity_code_id\n"
        "lee,2026-06-02T13:00:00Z,2026-06-02T15:00:00Z,oq\n"
        "ghost,2026-06-02T15:00:00Z,2026-06-02T15:15:00Z,brk\n"
    )
    response = admin.post(
        "/api/v1/schedules/import", content=csv, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 404
    assert "ghost" in response.json()["detail"]
    assert admin.get("/api/v1/agents/lee/schedule").json()["activities"] == []


def test_csv_error_names_the_line(admin: Caller) -> None:
    setup_unit(admin)
    csv = "agent_id,start,end,activity_code_id\nlee,2026-06-02T13:00:00,2026-06-02T15:00:00Z,oq\n"
    response = admin.post(
        "/api/v1/schedules/import", content=csv, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "line 2.start"
