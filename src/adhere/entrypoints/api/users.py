"""Routes: people who log in to the board (the `admin` scope manages them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from adhere.domain.instants import format_instant
from adhere.entrypoints.api.deps import path_id
from adhere.entrypoints.api.problems import Problem, not_found
from adhere.entrypoints.api.security import Principal, requires
from adhere.service.users import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    UsernameTaken,
    UserNotFound,
    UserRecord,
    UserService,
)

router = APIRouter(prefix="/api/v1", tags=["users"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_Id = Annotated[str, Field(min_length=1, max_length=128)]


class UserSummary(BaseModel):
    """Who a user is and whose data they see."""

    id: str
    username: str
    display_name: str
    role: Literal["admin", "supervisor", "agent"]
    agent_id: str | None = Field(description="An agent user's own agent.")
    unit_ids: list[str] = Field(description="A supervisor's management units (none: all).")
    team_ids: list[str] = Field(description="A supervisor's teams (with no units either: all).")


class UserOut(UserSummary):
    disabled: bool
    created: str


class UserCreated(UserOut):
    password: str | None = Field(
        description="The generated password when none was given: shown this once only."
    )


class UserList(BaseModel):
    items: list[UserOut]


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=100, examples=["dana"])
    display_name: str | None = Field(default=None, max_length=200)
    role: Literal["admin", "supervisor", "agent"]
    unit_ids: list[_Id] = Field(default_factory=list, max_length=1000)
    team_ids: list[_Id] = Field(default_factory=list, max_length=1000)
    agent_id: str | None = Field(default=None, min_length=1, max_length=128)
    password: str | None = Field(
        default=None,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description="Left out: one is generated and returned once.",
    )


@router.get("/users", response_model=UserList)
def list_users(request: Request, _: Principal = requires("admin")) -> dict[str, Any]:
    return {"items": [render_user(user) for user in users(request).list_users()]}


@router.post(
    "/users",
    status_code=201,
    response_model=UserCreated,
    responses={409: {"description": "The username is taken"}},
)
def create_user(
    body: UserIn, request: Request, response: Response, _: Principal = requires("admin")
) -> dict[str, Any]:
    """A new user; without a password one is generated and returned, this once."""
    try:
        user, generated = users(request).create_user(
            body.username,
            body.role,
            display_name=body.display_name,
            unit_ids=body.unit_ids,
            team_ids=body.team_ids,
            agent_id=body.agent_id,
            password=body.password,
        )
    except UsernameTaken as error:
        raise Problem(
            409,
            "user.username_taken",
            str(error),
            errors=[{"field": "username", "message": str(error)}],
        ) from None
    response.headers.update(_NO_STORE)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return {**render_user(user), "password": generated}


@router.post("/users/{user_id}/disable", response_model=UserOut)
def disable_user(
    request: Request, user_id: str = path_id(), _: Principal = requires("admin")
) -> dict[str, Any]:
    """Disable a user for good: their browser sessions end at once."""
    try:
        return render_user(users(request).disable_user(user_id))
    except UserNotFound:
        raise not_found("user", user_id) from None


def render_summary(user: UserRecord) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "agent_id": user.agent_id,
        "unit_ids": list(user.unit_ids),
        "team_ids": list(user.team_ids),
    }


def render_user(user: UserRecord) -> dict[str, Any]:
    return {
        **render_summary(user),
        "disabled": user.disabled,
        "created": format_instant(user.created_us),
    }


def users(request: Request) -> UserService:
    found: UserService = request.app.state.container.users
    return found
