"""Data actions through the API: credentials, import and export, execute against a real
OAuth-protected platform stand-in, test traces, the log, and problems naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.action_documents import (
    TEST_KEY,
    flaky_action,
    oauth_credential,
    set_presence_action,
)
from tests.integration.conftest import Api, Caller
from tests.stand_ins.platform import Platform


@pytest.fixture
def api_settings() -> dict[str, Any]:
    return {"secret_key": TEST_KEY}


def credential(admin: Caller, document: dict[str, Any]) -> str:
    response = admin.post("/api/v1/credentials", json=document)
    assert response.status_code == 201, response.text
    found: str = response.json()["id"]
    return found


def imported(admin: Caller, document: dict[str, Any]) -> dict[str, Any]:
    response = admin.post("/api/v1/actions", json=document)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def problem_fields(response: Any) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [error["field"] for error in response.json()["errors"]]


def test_credentials_are_created_listed_and_never_show_their_secret(
    admin: Caller, platform_url: str
) -> None:
    document = oauth_credential(
        platform_url, scopes="presence:write", extra_params={"resource": "r"}, auth_method="post"
    )
    created = admin.post("/api/v1/credentials", json=document)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "oauth_client_credentials"
    assert body["details"] == {
        "base_url": platform_url,
        "token_url": f"{platform_url}/oauth/token",
        "client_id": "writer",
        "scopes": ["presence:write"],
        "audience": None,
        "extra_params": {"resource": "r"},
        "auth_method": "client_secret_post",
    }
    basic = credential(admin, {"name": "b", "kind": "basic", "username": "u", "password": "pw-1"})
    listed = admin.get("/api/v1/credentials")
    assert [item["id"] for item in listed.json()["items"]] == [body["id"], basic]
    shown = admin.get(f"/api/v1/credentials/{basic}").json()
    assert shown["details"] == {"username": "u"}
    for text in (created.text, listed.text, admin.get(f"/api/v1/credentials/{basic}").text):
        assert "writer-secret" not in text
        assert "pw-1" not in text
    assert admin.delete(f"/api/v1/credentials/{basic}").status_code == 204
    assert admin.get(f"/api/v1/credentials/{basic}").status_code == 404


@pytest.mark.parametrize(
    ("document", "field", "words"),
    [
        ({"name": "x", "kind": "oauth_client_credentials"}, "token_url", "required: an absolute"),
        ({"name": "x", "kind": "basic", "username": "u"}, "password", "is required"),
        ({"name": "x", "kind": "basic", "username": " ", "password": "p"}, "username", "non-empty"),
        (
            {"name": "x", "kind": "basic", "username": "u", "password": "p", "client_id": "c"},
            "client_id",
            "not a field of a basic credential",
        ),
        ({"name": "x", "kind": "user_defined", "fields": {"a b": "v"}}, "fields.a b", "letters"),
        ({"name": "x", "kind": "ldap"}, "kind", "basic"),
        (
            {"name": "x", "kind": "basic", "username": "u", "password": "p", "base_url": "ftp://h"},
            "base_url",
            "http",
        ),
    ],
)
def test_a_bad_credential_is_a_problem_naming_the_field(
    admin: Caller, document: dict[str, Any], field: str, words: str
) -> None:
    response = admin.post("/api/v1/credentials", json=document)
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert words in response.json()["errors"][0]["message"]


def test_an_action_is_imported_exported_imported_again_replaced_and_deleted(
    admin: Caller, platform_url: str
) -> None:
    credential_id = credential(admin, oauth_credential(platform_url))
    first = imported(admin, set_presence_action(credential_id, timeoutSeconds=5))
    action_id = first["id"]
    assert action_id.startswith("act_")
    exported = admin.get(f"/api/v1/actions/{action_id}").json()
    assert exported == first
    assert exported["category"] == "Platform"
    assert exported["credentialId"] == credential_id
    assert exported["config"]["timeoutSeconds"] == 5
    assert exported["config"]["retryStrategy"]["maximum_attempts"] == 5
    again = imported(admin, exported)  # an export imports as a new action
    assert again["id"] != action_id
    assert {k: v for k, v in again.items() if k != "id"} == {
        k: v for k, v in exported.items() if k != "id"
    }
    changed = {**exported, "name": "Set presence (v2)"}
    replaced = admin.put(f"/api/v1/actions/{action_id}", json=changed)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"] == "Set presence (v2)"
    listed = admin.get("/api/v1/actions").json()["items"]
    assert [(item["id"], item["name"]) for item in listed] == [
        (action_id, "Set presence (v2)"),
        (again["id"], "Set presence"),
    ]
    assert listed[0]["method"] == "PATCH"
    assert admin.delete(f"/api/v1/actions/{action_id}").status_code == 204
    assert admin.get(f"/api/v1/actions/{action_id}").status_code == 404
    assert admin.put(f"/api/v1/actions/{action_id}", json=changed).status_code == 404


def test_a_bad_action_is_a_problem_naming_the_field(admin: Caller, platform_url: str) -> None:
    document = set_presence_action(None)
    document["config"]["request"]["requestType"] = "FETCH"
    response = admin.post("/api/v1/actions", json=document)
    assert response.status_code == 422
    assert problem_fields(response) == ["config.request.requestType"]

    response = admin.post("/api/v1/actions", json=set_presence_action("cr_nope"))
    assert problem_fields(response) == ["credentialId"]
    assert "no credential 'cr_nope'" in response.json()["detail"]

    oauth = credential(admin, oauth_credential(platform_url))
    document = set_presence_action(oauth)
    document["config"]["request"]["headers"] = {"X-Key": "${credentials.apiKey}"}
    response = admin.post("/api/v1/actions", json=document)
    assert problem_fields(response) == ["config.request.headers.X-Key"]
    assert "needs a user_defined credential" in response.json()["detail"]

    response = admin.post("/api/v1/actions", json=[1, 2])
    assert response.status_code == 422


def test_a_credential_in_use_cannot_be_deleted(admin: Caller, platform_url: str) -> None:
    credential_id = credential(admin, oauth_credential(platform_url))
    action = imported(admin, set_presence_action(credential_id))
    response = admin.delete(f"/api/v1/credentials/{credential_id}")
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "credential.in_use"
    assert problem["actions"] == [{"id": action["id"], "name": "Set presence"}]
    assert action["id"] in problem["detail"]
    assert admin.delete(f"/api/v1/actions/{action['id']}").status_code == 204
    assert admin.delete(f"/api/v1/credentials/{credential_id}").status_code == 204


def test_an_action_is_executed_against_the_platform_and_logged(
    admin: Caller, api: Api, platform: Platform, platform_url: str
) -> None:
    credential_id = credential(admin, oauth_credential(platform_url))
    action_id = imported(admin, set_presence_action(credential_id))["id"]
    runner = api.headers("actions:execute")
    response = api.client.post(
        f"/api/v1/actions/{action_id}/execute",
        json={"input": {"userId": "lee", "presence": "Break"}},
        headers=runner,
    )
    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["outcome"] == "succeeded", execution
    assert execution["output"] == {"presence": "Break", "userId": "lee"}
    assert execution["source"] == "api"
    assert [(a["number"], a["status"], a["error"]) for a in execution["attempts"]] == [
        (1, 200, None)
    ]
    assert platform.presence == {"lee": "Break"}
    log = admin.get(f"/api/v1/actions/{action_id}/executions").json()["items"]
    assert log == [execution]
    # the log needs actions:manage; running needs actions:execute
    denied = api.client.get(f"/api/v1/actions/{action_id}/executions", headers=runner)
    assert denied.status_code == 403
    assert denied.json()["missing_scopes"] == ["actions:manage"]


def test_input_the_contract_refuses_is_a_problem_and_nothing_runs(
    admin: Caller, platform: Platform, platform_url: str
) -> None:
    credential_id = credential(admin, oauth_credential(platform_url))
    action_id = imported(admin, set_presence_action(credential_id))["id"]
    response = admin.post(
        f"/api/v1/actions/{action_id}/execute", json={"input": {"presence": "Break"}}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["input.userId"]
    assert platform.api_calls == 0
    assert admin.get(f"/api/v1/actions/{action_id}/executions").json()["items"] == []
    assert admin.post("/api/v1/actions/act_nope/execute", json={}).status_code == 404


def test_a_missing_scope_is_an_execution_failure_naming_it(
    admin: Caller, platform: Platform, platform_url: str
) -> None:
    credential_id = credential(admin, oauth_credential(platform_url, "writer", scopes=[]))
    action_id = imported(admin, set_presence_action(credential_id))["id"]  # granted: saved
    platform.clients["writer"] = ("writer-secret", frozenset({"presence:read"}))
    platform.revoke_all()  # the grant is withdrawn after the action was saved
    response = admin.post(
        f"/api/v1/actions/{action_id}/execute",
        json={"input": {"userId": "lee", "presence": "Break"}},
    )
    assert response.status_code == 200
    execution = response.json()
    assert execution["outcome"] == "failed"
    assert execution["failed_step"] == "send"
    assert "presence:write" in execution["error"]
    assert [a["status"] for a in execution["attempts"]] == [403]
    assert platform.presence == {}


def test_a_test_traces_every_step(admin: Caller, platform_url: str) -> None:
    credential_id = credential(admin, oauth_credential(platform_url))
    action_id = imported(admin, set_presence_action(credential_id))["id"]
    response = admin.post(
        f"/api/v1/actions/{action_id}/test",
        json={"input": {"userId": "lee", "presence": "Away"}},
    )
    assert response.status_code == 200, response.text
    trace = response.json()
    assert trace["success"] is True
    assert trace["output"] == {"presence": "Away", "userId": "lee"}
    steps = {s["name"]: s for s in trace["steps"]}
    assert list(steps) == [
        "resolve_input",
        "render_url",
        "render_body",
        "authenticate",
        "send",
        "translate",
        "render_success",
        "validate_output",
    ]
    assert steps["render_url"]["result"] == f"{platform_url}/api/v2/users/lee/presence"
    assert steps["render_body"]["result"]["body"] == '{"presence": "Away"}'
    assert steps["authenticate"]["result"]["client_id"] == "writer"
    assert "writer-secret" not in response.text

    failing = admin.post(
        f"/api/v1/actions/{action_id}/test", json={"input": {"userId": "lee", "presence": "X"}}
    ).json()
    assert failing["success"] is False
    assert failing["error"].startswith("resolve_input: input.presence: 'X' is not one of")
    assert [s["status"] for s in failing["steps"]] == ["failed"] + ["not_run"] * 7
    assert admin.get(f"/api/v1/actions/{action_id}/executions").json()["items"] == []


def test_executions_of_a_deleted_action_stay_listed(admin: Caller) -> None:
    document = flaky_action("http://127.0.0.1:9/x", retryStrategy={"maximum_attempts": 1})
    action_id = imported(admin, document)["id"]
    response = admin.post(f"/api/v1/actions/{action_id}/execute", json={})
    assert response.json()["outcome"] == "failed"
    assert admin.delete(f"/api/v1/actions/{action_id}").status_code == 204
    log = admin.get(f"/api/v1/actions/{action_id}/executions").json()["items"]
    assert [item["id"] for item in log] == [response.json()["id"]]
    assert admin.get("/api/v1/actions/act_never/executions").status_code == 404
