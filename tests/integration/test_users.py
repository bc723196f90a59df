"""Users and sessions in the service layer, and `adhere users …` on a real database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from adhere.bootstrap import command_context
from adhere.config import Settings
from adhere.domain.errors import InvalidInput
from adhere.domain.organisation import Agent, ManagementUnit, Team
from adhere.entrypoints.cli import app as cli
from adhere.service import organisation
from adhere.service.auth import EVERYONE, KNOWN_SCOPES, Visibility
from adhere.service.context import ServiceContext
from adhere.service.users import (
    InvalidCredentials,
    InvalidSession,
    UsernameTaken,
    UserService,
    principal_of,
)

runner = CliRunner()
PASSWORD = "twelve chars"


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ctx(database_url: str) -> Iterator[ServiceContext]:
    """A unit `nyc` with team `t1` (agent lee) and agent kim in no team."""
    context = command_context(database_url)
    organisation.put_management_unit(context, ManagementUnit("nyc", "New York", "America/New_York"))
    organisation.put_team(context, Team("t1", "Team 1", "nyc"))
    organisation.put_agent(context, Agent("lee", "Lee", "nyc", "t1"))
    organisation.put_agent(context, Agent("kim", "Kim", "nyc"))
    yield context
    context.store.engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def users(ctx: ServiceContext, clock: Clock) -> UserService:
    return UserService(ctx.store, Settings(session_lifetime_hours=12), now=clock)


def test_passwords_have_at_least_twelve_characters(users: UserService) -> None:
    with pytest.raises(InvalidInput) as refused:
        users.create_user("sue", "admin", password="eleven char")
    assert refused.value.field == "password"
    assert users.list_users() == []
    user, generated = users.create_user("sue", "admin", password=PASSWORD)
    assert generated is None
    assert users.log_in("sue", PASSWORD)[1].user == user


def test_a_generated_password_is_returned_once_and_opens_a_session(users: UserService) -> None:
    user, generated = users.create_user("sue", "supervisor")
    assert generated is not None
    assert len(generated) >= 24
    token, session = users.log_in("SUE", generated)  # names ignore case
    assert users.session(token) == session
    assert session.user == user


def test_usernames_are_unique_whatever_their_case(users: UserService) -> None:
    users.create_user("Sue", "admin", password=PASSWORD)
    with pytest.raises(UsernameTaken):
        users.create_user("sue", "admin", password=PASSWORD)
    assert users.find_user("SUE").username == "Sue"


def test_logins_fail_alike_for_unknown_users_wrong_passwords_and_disabled_users(
    users: UserService,
) -> None:
    user, _ = users.create_user("sue", "admin", password=PASSWORD)
    users.create_user("kim", "agent", agent_id="kim", password=PASSWORD)
    users.disable_user(users.find_user("kim").id)
    messages = set()
    for username, password in (("nobody", PASSWORD), ("sue", "wrong password"), ("kim", PASSWORD)):
        with pytest.raises(InvalidCredentials) as refused:
            users.log_in(username, password)
        messages.add(str(refused.value))
    assert messages == {"wrong username or password"}
    assert users.find_user(user.id) == user


def test_sessions_expire(users: UserService, clock: Clock) -> None:
    users.create_user("sue", "admin", password=PASSWORD)
    token, session = users.log_in("sue", PASSWORD)
    assert session.expires_us == round((clock.now + 12 * 3600) * 1_000_000)
    clock.now += 12 * 3600 - 1
    assert users.session(token) == session
    clock.now += 1
    with pytest.raises(InvalidSession, match="expired"):
        users.session(token)


def test_disabling_a_user_ends_their_sessions(users: UserService) -> None:
    user, _ = users.create_user("sue", "admin", password=PASSWORD)
    first, _ = users.log_in("sue", PASSWORD)
    second, _ = users.log_in("sue", PASSWORD)
    assert users.disable_user(user.id).disabled
    for token in (first, second):
        with pytest.raises(InvalidSession):
            users.session(token)
    with pytest.raises(InvalidSession):
        users.session("never issued")


def test_roles_give_scopes_and_visibility(users: UserService) -> None:
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("admin", "admin", {}),
        ("boss", "supervisor", {}),
        ("teamlead", "supervisor", {"team_ids": ["t1"]}),
        ("unitlead", "supervisor", {"unit_ids": ["nyc"]}),
        ("lee", "agent", {"agent_id": "lee"}),
    ]
    principals = {}
    for username, role, fields in cases:
        users.create_user(username, role, password=PASSWORD, **fields)
        token, _ = users.log_in(username, PASSWORD)
        principals[username] = principal_of(users.session(token))
    people = ("adherence:read", "schedule:agent:read", "schedule:agent:write")
    assert principals["admin"].scopes == frozenset(KNOWN_SCOPES)
    assert principals["boss"].scopes == principals["lee"].scopes == frozenset(people)
    assert principals["admin"].visibility == principals["boss"].visibility == EVERYONE
    assert principals["teamlead"].visibility == Visibility(team_ids=frozenset({"t1"}))
    assert principals["unitlead"].visibility == Visibility(unit_ids=frozenset({"nyc"}))
    assert principals["lee"].visibility == Visibility(agent_id="lee")
    lee = principals["lee"]
    assert (lee.role, lee.client_id) == ("agent", f"user:{lee.user_id}")
    kim = Agent("kim", "Kim", "nyc")
    assert not principals["teamlead"].visibility.sees(kim)
    assert principals["unitlead"].visibility.sees(kim)


def _adhere(database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(cli, ["users", *args, "--db", database_url], input=stdin)
    return result.exit_code, result.output


def test_users_commands(database_url: str, ctx: ServiceContext) -> None:
    code, output = _adhere(database_url, "create", "sue", "--role", "supervisor", "--team", "t1")
    assert code == 0, output
    generated = next(
        line.split()[1] for line in output.splitlines() if line.startswith("password:")
    )
    assert len(generated) >= 24
    assert "will not be shown again" in output
    code, output = _adhere(
        database_url,
        "create",
        "lee",
        "--role",
        "agent",
        "--agent",
        "lee",
        "--name",
        "Lee Adama",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, output
    assert "password:" not in output

    code, output = _adhere(database_url, "list", "--json")
    assert code == 0, output
    listed = {user["username"]: user for user in json.loads(output)}
    assert listed["sue"]["team_ids"] == ["t1"]
    assert (listed["lee"]["display_name"], listed["lee"]["agent_id"]) == ("Lee Adama", "lee")
    assert generated not in output
    code, output = _adhere(database_url, "list")
    assert code == 0
    assert "team t1" in output
    assert "agent lee" in output

    users = UserService(ctx.store, Settings())
    users.log_in("sue", generated)
    token, _ = users.log_in("lee", PASSWORD)
    code, output = _adhere(database_url, "disable", "LEE")
    assert code == 0, output
    assert "disabled" in output
    with pytest.raises(InvalidSession):
        users.session(token)
    assert json.loads(_adhere(database_url, "list", "--json")[1])[0]["disabled"] is True


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (("create", "x", "--role", "boss"), None, "invalid --role"),
        (("create", "x", "--role", "agent"), None, "invalid --agent"),
        (("create", "x", "--role", "agent", "--agent", "nobody"), None, "invalid --agent"),
        (("create", "x", "--role", "supervisor", "--unit", "nowhere"), None, "invalid --unit"),
        (("create", "x", "--role", "admin", "--team", "t1"), None, "invalid --team"),
        (("create", "x y", "--role", "admin"), None, "invalid USERNAME"),
        (("create", "x", "--role", "admin", "--password-stdin"), "short\n", "--password-stdin"),
        (("disable", "nobody"), None, "no user 'nobody'"),
    ],
)
def test_users_commands_refuse_bad_input_naming_the_option(
    database_url: str, ctx: ServiceContext, args: tuple[str, ...], stdin: str | None, says: str
) -> None:
    code, output = _adhere(database_url, *args, stdin=stdin)
    assert code == 2, output
    assert says in output
    assert json.loads(_adhere(database_url, "list", "--json")[1]) == []


def test_a_taken_username_is_refused(database_url: str, ctx: ServiceContext) -> None:
    assert _adhere(database_url, "create", "sue", "--role", "admin")[0] == 0
    code, output = _adhere(database_url, "create", "SUE", "--role", "admin")
    assert code == 2
    assert "already exists" in output
