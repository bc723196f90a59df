"""The OAuth 2 authorization server (token, metadata, JWKS, introspection, revocation) and the
admin API for OAuth clients.

The ``/oauth/*`` endpoints are protocol endpoints: their errors are RFC 6749 §5.2 JSON
(``{"error": "invalid_scope", ...}``) that OAuth client libraries understand, never cached.
The admin API under ``/api/v1/clients`` answers errors with problem details like the rest.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from adhere.domain.errors import InvalidInput
from adhere.entrypoints.api.problems import MEDIA_TYPE, Problem, from_invalid_input, not_found
from adhere.entrypoints.api.security import Principal, requires
from adhere.service.auth import (
    KNOWN_SCOPES,
    AuthService,
    ClientNotFound,
    ClientRecord,
    ClientRevoked,
    InvalidClient,
    InvalidScope,
    TokenNotOwned,
)

router = APIRouter()

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_BASIC_CHALLENGE = 'Basic realm="adhere"'
_GRANT_TYPE = "client_credentials"
_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- models ----------------------------------------------------------------------------------


class TokenResponse(BaseModel):
    access_token: str = Field(description="An RFC 9068 JWT (`typ: at+jwt`).")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    scope: str = Field(description="The granted scopes, space-separated.")


class OAuthErrorBody(BaseModel):
    error: str = Field(description="An RFC 6749 §5.2 error code, e.g. `invalid_scope`.")
    error_description: str


class ServerMetadata(BaseModel):
    issuer: str
    token_endpoint: str
    jwks_uri: str
    introspection_endpoint: str
    revocation_endpoint: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
    response_types_supported: list[str]


class JsonWebKey(BaseModel):
    kty: str
    kid: str
    alg: str
    use: str
    n: str
    e: str


class JsonWebKeySet(BaseModel):
    keys: list[JsonWebKey]


class Introspection(BaseModel):
    """RFC 7662 §2.2: only `active` when the token is not active."""

    active: bool
    scope: str | None = None
    client_id: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None
    sub: str | None = None
    aud: str | list[str] | None = None
    iss: str | None = None
    jti: str | None = None


_ScopeName = Annotated[str, Field(json_schema_extra={"enum": list(KNOWN_SCOPES)})]


class ClientCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[_ScopeName] = Field(description="The scopes the client may ask tokens for.")


class ScopesUpdate(BaseModel):
    scopes: list[_ScopeName]


class ClientView(BaseModel):
    id: str
    name: str
    scopes: list[str]
    revoked: bool
    created_at: str = Field(description="RFC 3339 UTC.")
    updated_at: str = Field(description="RFC 3339 UTC.")


class ClientWithSecret(ClientView):
    client_secret: str = Field(description="Shown this once; only its hash is stored.")


class ClientList(BaseModel):
    clients: list[ClientView]


class ClientSecret(BaseModel):
    client_id: str
    client_secret: str = Field(description="Shown this once; only its hash is stored.")


# --- the authorization server ----------------------------------------------------------------


class _OAuthError(Exception):
    """An RFC 6749 §5.2 error response."""

    def __init__(
        self, error: str, description: str, status: int = 400, *, challenge: bool = False
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.challenge = challenge

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.challenge:
            headers["WWW-Authenticate"] = _BASIC_CHALLENGE
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, self.status, headers=headers)


class _ClientBasic(HTTPBasic):
    """Documents client_secret_basic in OpenAPI; the header is parsed here, so that a bad one
    gets an OAuth error rather than the framework's."""

    async def __call__(self, request: HTTPConnection) -> str | None:  # type: ignore[override]
        return request.headers.get("Authorization")


_client_basic = _ClientBasic(
    scheme_name="clientBasic",
    realm="adhere",
    description="client_secret_basic: the client id and secret (or send them in the form).",
    auto_error=False,
)

_OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error"},
    401: {"model": OAuthErrorBody, "description": "invalid_client"},
}
# Basic or, as an alternative, credentials in the form (client_secret_post).
_CLIENT_AUTH_EXTRA: dict[str, Any] = {"security": [{}]}
_Authorization = Annotated[str | None, Security(_client_basic)]
_FormText = Annotated[str | None, Form()]


@router.post(
    "/oauth/token",
    tags=["oauth"],
    summary="Issue an access token (client credentials)",
    response_model=TokenResponse,
    responses=_OAUTH_ERRORS,
    openapi_extra=_CLIENT_AUTH_EXTRA,
)
def token(
    request: Request,
    response: Response,
    *,
    authorization: _Authorization = None,
    grant_type: _FormText = None,
    scope: Annotated[
        str | None, Form(description="Space-separated; omitted: all the client's scopes.")
    ] = None,
    client_id: _FormText = None,
    client_secret: _FormText = None,
) -> Any:
    """RFC 6749 §4.4. The token's scopes are the requested ones (all the client's if `scope` is
    omitted); asking for a scope the client is not allowed is `invalid_scope`, naming it."""
    try:
        if not grant_type:
            raise _OAuthError("invalid_request", "grant_type is missing")
        if grant_type != _GRANT_TYPE:
            raise _OAuthError(
                "unsupported_grant_type", f"only grant_type={_GRANT_TYPE} is supported"
            )
        identity, secret, basic = _credentials(authorization, client_id, client_secret)
        requested = scope.split() if scope and scope.strip() else None
        try:
            issued = _auth(request).issue_token(identity, secret, requested)
        except InvalidClient as error:
            raise _OAuthError("invalid_client", str(error), 401, challenge=basic) from None
        except InvalidScope as error:
            names = " ".join(error.not_allowed)
            raise _OAuthError(
                "invalid_scope", f"the client is not allowed these scopes: {names}"
            ) from None
    except _OAuthError as error:
        return error.response()
    response.headers.update(_NO_STORE)
    return TokenResponse(**issued)


@router.post(
    "/oauth/introspect",
    tags=["oauth"],
    summary="Introspect a token (RFC 7662)",
    response_model=Introspection,
    response_model_exclude_none=True,
    responses=_OAUTH_ERRORS,
    openapi_extra=_CLIENT_AUTH_EXTRA,
)
def introspect(
    request: Request,
    response: Response,
    *,
    authorization: _Authorization = None,
    token: _FormText = None,
    token_type_hint: _FormText = None,
    client_id: _FormText = None,
    client_secret: _FormText = None,
) -> Any:
    """Any authenticated client may ask; an invalid, expired or revoked token is
    ``{"active": false}``."""
    del token_type_hint  # only access tokens exist
    try:
        _authenticated_client(request, authorization, client_id, client_secret)
        if not token:
            raise _OAuthError("invalid_request", "token is missing")
    except _OAuthError as error:
        return error.response()
    response.headers.update(_NO_STORE)
    return Introspection(**_auth(request).introspect(token))


@router.post(
    "/oauth/revoke",
    tags=["oauth"],
    summary="Revoke a token (RFC 7009)",
    response_class=Response,
    responses={200: {"description": "Revoked, or not a valid token"}, **_OAUTH_ERRORS},
    openapi_extra=_CLIENT_AUTH_EXTRA,
)
def revoke(
    request: Request,
    *,
    authorization: _Authorization = None,
    token: _FormText = None,
    token_type_hint: _FormText = None,
    client_id: _FormText = None,
    client_secret: _FormText = None,
) -> Response:
    """A client revokes its own tokens; unknown, malformed or expired tokens answer 200 too."""
    del token_type_hint
    try:
        client = _authenticated_client(request, authorization, client_id, client_secret)
        if not token:
            raise _OAuthError("invalid_request", "token is missing")
        try:
            _auth(request).revoke_token(token, by_client=client.id)
        except TokenNotOwned as error:
            raise _OAuthError("invalid_grant", str(error)) from None
    except _OAuthError as error:
        return error.response()
    return Response(status_code=200, headers=_NO_STORE)


@router.get(
    "/.well-known/oauth-authorization-server",
    tags=["oauth"],
    summary="Authorization server metadata (RFC 8414)",
    response_model=ServerMetadata,
)
def metadata(request: Request) -> ServerMetadata:
    issuer = _auth(request).issuer.rstrip("/")
    return ServerMetadata(
        issuer=issuer,
        token_endpoint=f"{issuer}/oauth/token",
        jwks_uri=f"{issuer}/.well-known/jwks.json",
        introspection_endpoint=f"{issuer}/oauth/introspect",
        revocation_endpoint=f"{issuer}/oauth/revoke",
        grant_types_supported=[_GRANT_TYPE],
        token_endpoint_auth_methods_supported=_AUTH_METHODS,
        introspection_endpoint_auth_methods_supported=_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported=_AUTH_METHODS,
        scopes_supported=list(KNOWN_SCOPES),
        response_types_supported=[],
    )


@router.get(
    "/.well-known/jwks.json",
    tags=["oauth"],
    summary="The public keys that sign access tokens (RFC 7517)",
    response_model=JsonWebKeySet,
)
def jwks(request: Request, response: Response) -> JsonWebKeySet:
    response.headers["Cache-Control"] = "public, max-age=300"
    return JsonWebKeySet.model_validate(_auth(request).jwks())


def _credentials(
    authorization: str | None, client_id: str | None, client_secret: str | None
) -> tuple[str, str, bool]:
    """(client id, secret, whether Basic was used) from the header or the form: exactly one."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        if client_secret is not None:
            raise _OAuthError(
                "invalid_request", "use one client authentication method, not basic and post"
            )
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _OAuthError(
                "invalid_client", "malformed Basic credentials", 401, challenge=True
            ) from None
        identity, separator, secret = decoded.partition(":")
        if not separator:
            raise _OAuthError("invalid_client", "malformed Basic credentials", 401, challenge=True)
        # RFC 6749 §2.3.1: both parts are form-urlencoded before encoding.
        return unquote_plus(identity), unquote_plus(secret), True
    if client_id and client_secret:
        return client_id, client_secret, False
    raise _OAuthError(
        "invalid_client",
        "client authentication is required: HTTP Basic, or client_id and client_secret",
        401,
        challenge=True,
    )


def _authenticated_client(
    request: Request, authorization: str | None, client_id: str | None, secret: str | None
) -> ClientRecord:
    identity, credential, basic = _credentials(authorization, client_id, secret)
    try:
        return _auth(request).authenticate_client(identity, credential)
    except InvalidClient as error:
        raise _OAuthError("invalid_client", str(error), 401, challenge=basic) from None


# --- the admin API for clients ---------------------------------------------------------------

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"content": {MEDIA_TYPE: {}}, "description": description}
    for status, description in (
        (401, "Missing or invalid access token"),
        (403, "The token lacks scope admin"),
        (404, "No such client"),
        (409, "The client is revoked"),
        (422, "Invalid input"),
    )
}


@router.post(
    "/api/v1/clients",
    tags=["clients"],
    summary="Create an OAuth client",
    status_code=201,
    response_model=ClientWithSecret,
    responses=_PROBLEMS,
)
def create_client(
    body: ClientCreate,
    request: Request,
    response: Response,
    principal: Annotated[Principal, requires("admin")],
) -> ClientWithSecret:
    """The response holds the client secret: the only time it is shown."""
    del principal
    try:
        client, secret = _auth(request).create_client(body.name, body.scopes)
    except InvalidInput as error:
        raise from_invalid_input(error) from None
    response.headers.update(_NO_STORE)
    response.headers["Location"] = f"/api/v1/clients/{client.id}"
    return ClientWithSecret(**_view(client).model_dump(), client_secret=secret)


@router.get(
    "/api/v1/clients",
    tags=["clients"],
    summary="List OAuth clients",
    response_model=ClientList,
    responses=_PROBLEMS,
)
def list_clients(
    request: Request, principal: Annotated[Principal, requires("admin")]
) -> ClientList:
    del principal
    return ClientList(clients=[_view(client) for client in _auth(request).list_clients()])


@router.get(
    "/api/v1/clients/{client_id}",
    tags=["clients"],
    summary="One OAuth client",
    response_model=ClientView,
    responses=_PROBLEMS,
)
def get_client(
    client_id: str, request: Request, principal: Annotated[Principal, requires("admin")]
) -> ClientView:
    del principal
    with _client_problems(client_id):
        return _view(_auth(request).get_client(client_id))


@router.put(
    "/api/v1/clients/{client_id}/scopes",
    tags=["clients"],
    summary="Replace a client's scopes (its earlier tokens stop working)",
    response_model=ClientView,
    responses=_PROBLEMS,
)
def set_scopes(
    client_id: str,
    body: ScopesUpdate,
    request: Request,
    principal: Annotated[Principal, requires("admin")],
) -> ClientView:
    del principal
    with _client_problems(client_id):
        return _view(_auth(request).set_scopes(client_id, body.scopes))


@router.post(
    "/api/v1/clients/{client_id}/rotate-secret",
    tags=["clients"],
    summary="Give a client a new secret (the old one and its tokens stop working)",
    response_model=ClientSecret,
    responses=_PROBLEMS,
)
def rotate_secret(
    client_id: str,
    request: Request,
    response: Response,
    principal: Annotated[Principal, requires("admin")],
) -> ClientSecret:
    del principal
    with _client_problems(client_id):
        secret = _auth(request).rotate_secret(client_id)
    response.headers.update(_NO_STORE)
    return ClientSecret(client_id=client_id, client_secret=secret)


@router.delete(
    "/api/v1/clients/{client_id}",
    tags=["clients"],
    summary="Revoke a client and every token it holds",
    status_code=204,
    response_class=Response,
    responses=_PROBLEMS,
)
def revoke_client(
    client_id: str, request: Request, principal: Annotated[Principal, requires("admin")]
) -> Response:
    del principal
    with _client_problems(client_id):
        _auth(request).revoke_client(client_id)
    return Response(status_code=204)


@contextmanager
def _client_problems(client_id: str) -> Iterator[None]:
    """Turns the service's client errors into problems."""
    try:
        yield
    except ClientNotFound:
        raise not_found("client", client_id) from None
    except ClientRevoked as error:
        raise Problem(409, "client.revoked", str(error), title="Client revoked") from None
    except InvalidInput as error:
        raise from_invalid_input(error) from None


def _view(client: ClientRecord) -> ClientView:
    return ClientView(
        id=client.id,
        name=client.name,
        scopes=list(client.scopes),
        revoked=client.revoked,
        created_at=_rfc3339(client.created_us),
        updated_at=_rfc3339(client.updated_us),
    )


def _rfc3339(microseconds: int) -> str:
    moment = _EPOCH + timedelta(microseconds=microseconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _auth(request: Request) -> AuthService:
    auth: AuthService = request.app.state.container.auth
    return auth
