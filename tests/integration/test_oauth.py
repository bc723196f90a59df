"""The OAuth 2 authorization server, bearer-token security and the clients/keys CLI, against a
real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Annotated, Any

import pytest
import typer
from argon2 import PasswordHasher
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey, import_key
from sqlalchemy import Engine, delete, event, select
from typer.testing import CliRunner

from adhere.adapters.database import connect, upgrade
from adhere.adapters.schema import oauth_clients, revoked_tokens, signing_keys
from adhere.config import Settings
from adhere.domain.errors import InvalidInput
from adhere.entrypoints.api import problems
from adhere.entrypoints.api.oauth import router
from adhere.entrypoints.api.security import Principal, requires
from adhere.entrypoints.cli_clients import clients_app, keys_app
from adhere.service.auth import KNOWN_SCOPES, AuthService
from tests.conftest import fresh_postgres_database
from tests.http_server import serving

ISSUER = "http://adhere.test:8000"
LIFETIME = 600
PROBLEM_JSON = "application/problem+json"

# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for this module: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('oauth') / 'adhere.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = connect(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    """The module's database with no clients, keys or revocations: each test starts afresh."""
    with migrated_engine.begin() as connection:
        for table in (oauth_clients, signing_keys, revoked_tokens):
            connection.execute(delete(table))
    return migrated_engine


class Clock:
    """A settable clock, injected as `now` so that expiry is tested without waiting."""

    def __init__(self) -> None:
        self.seconds = time.time()

    def __call__(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, issuer=ISSUER, token_lifetime_seconds=LIFETIME)


@pytest.fixture
def auth(engine: Engine, settings: Settings, clock: Clock) -> AuthService:
    return AuthService(engine, settings, now=clock)


def build_app(auth: AuthService, settings: Settings) -> FastAPI:
    """The OAuth router plus one route that needs `events:write`, as the real app would mount."""
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    app.state.container = SimpleNamespace(auth=auth, settings=settings)

    @app.post("/api/v1/events")
    def submit_events(
        principal: Annotated[Principal, requires("events:write")],
    ) -> dict[str, Any]:
        return {"client_id": principal.client_id, "scopes": sorted(principal.scopes)}

    return app


@pytest.fixture
def app(auth: AuthService, settings: Settings) -> FastAPI:
    return build_app(auth, settings)


@pytest.fixture
def http(app: FastAPI) -> TestClient:
    return TestClient(app)


# --- helpers ---------------------------------------------------------------------------------


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_client(auth: AuthService, *scopes: str) -> tuple[str, str]:
    client, secret = auth.create_client("test client", scopes)
    return client.id, secret


def fetch_token(http: TestClient, client_id: str, secret: str, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    response = http.post("/oauth/token", data=form, headers=basic(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def submit(http: TestClient, token: str) -> Any:
    return http.post("/api/v1/events", headers=bearer(token))


def assert_invalid_token(response: Any, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="adhere", error="invalid_token", error_description="')
    assert reason in challenge
    body = response.json()
    assert body["code"] == "auth.invalid_token"
    assert reason in body["detail"]


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return _b64json(header), _b64json(payload)


def _b64json(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


# --- the token endpoint ----------------------------------------------------------------------


def test_token_with_client_secret_basic_grants_all_the_clients_scopes(
    http: TestClient, auth: AuthService
) -> None:
    client_id, secret = new_client(auth, "adherence:read", "events:write")

    response = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == LIFETIME
    assert body["scope"] == "events:write adherence:read"
    protected = submit(http, body["access_token"])
    assert protected.status_code == 200
    assert protected.json() == {
        "client_id": client_id,
        "scopes": ["adherence:read", "events:write"],
    }


def test_token_with_client_secret_post_grants_the_requested_scopes(
    http: TestClient, auth: AuthService
) -> None:
    client_id, secret = new_client(auth, "adherence:read", "events:write", "rules:manage")

    response = http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "events:write",
        },
    )

    assert response.status_code == 200
    assert response.json()["scope"] == "events:write"
    assert auth.verify(response.json()["access_token"]).scopes == {"events:write"}


def test_a_scope_the_client_is_not_allowed_is_invalid_scope_naming_it(
    http: TestClient, auth: AuthService
) -> None:
    client_id, secret = new_client(auth, "adherence:read")

    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "adherence:read events:write admin"},
        headers=basic(client_id, secret),
    )

    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "invalid_scope"
    assert "events:write admin" in body["error_description"]
    assert "adherence:read" not in body["error_description"]


def test_bad_client_credentials_are_invalid_client(http: TestClient, auth: AuthService) -> None:
    client_id, secret = new_client(auth, "adherence:read")
    grant = {"grant_type": "client_credentials"}

    wrong_secret = http.post("/oauth/token", data=grant, headers=basic(client_id, secret + "x"))
    unknown = http.post(
        "/oauth/token", data={**grant, "client_id": "cl_nobody", "client_secret": secret}
    )
    nothing = http.post("/oauth/token", data=grant)
    auth.revoke_client(client_id)
    revoked = http.post("/oauth/token", data=grant, headers=basic(client_id, secret))

    for response in (wrong_secret, unknown, nothing, revoked):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["Cache-Control"] == "no-store"
    assert wrong_secret.headers["WWW-Authenticate"] == 'Basic realm="adhere"'
    assert revoked.headers["WWW-Authenticate"] == 'Basic realm="adhere"'
    assert "WWW-Authenticate" not in unknown.headers  # client_secret_post: no Basic challenge


def test_grant_type_is_required_and_only_client_credentials(
    http: TestClient, auth: AuthService
) -> None:
    client_id, secret = new_client(auth, "adherence:read")

    missing = http.post("/oauth/token", data={}, headers=basic(client_id, secret))
    password = http.post(
        "/oauth/token", data={"grant_type": "password"}, headers=basic(client_id, secret)
    )

    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    assert password.status_code == 400
    assert password.json()["error"] == "unsupported_grant_type"


def test_basic_and_post_together_are_invalid_request(http: TestClient, auth: AuthService) -> None:
    client_id, secret = new_client(auth, "adherence:read")

    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        headers=basic(client_id, secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# --- metadata, keys, token format ------------------------------------------------------------


def test_server_metadata_uses_absolute_urls_from_the_issuer(http: TestClient) -> None:
    response = http.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == ISSUER
    assert metadata["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert metadata["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert metadata["introspection_endpoint"] == f"{ISSUER}/oauth/introspect"
    assert metadata["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert metadata["scopes_supported"] == list(KNOWN_SCOPES)
    assert metadata["response_types_supported"] == []


def test_access_token_is_an_rfc_9068_jwt_verifiable_with_the_jwks(
    http: TestClient, auth: AuthService, clock: Clock
) -> None:
    client_id, secret = new_client(auth, "events:write")

    token = fetch_token(http, client_id, secret)
    jwks = http.get("/.well-known/jwks.json").json()

    header, _ = jwt_parts(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    [public] = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    assert "d" not in public  # the public part only
    assert public["kty"] == "RSA"
    claims = jwt.decode(token, import_key(public), algorithms=["RS256"]).claims
    assert claims["iss"] == ISSUER
    assert claims["sub"] == client_id
    assert claims["client_id"] == client_id
    assert claims["aud"] == "adhere"
    assert claims["iat"] == int(clock())
    assert claims["exp"] - claims["iat"] == LIFETIME
    assert claims["scope"] == "events:write"
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16


def test_the_first_signing_key_is_created_once_and_persisted(
    auth: AuthService, engine: Engine, settings: Settings
) -> None:
    first = auth.jwks()
    again = AuthService(engine, settings).jwks()  # another process, same database

    assert len(first["keys"]) == 1
    assert again == first
    with engine.connect() as connection:
        stored = connection.execute(select(signing_keys)).all()
    assert [row.kid for row in stored] == [first["keys"][0]["kid"]]
    assert stored[0].retired_us is None


# --- introspection and revocation ------------------------------------------------------------


def test_introspection_of_active_and_inactive_tokens(http: TestClient, auth: AuthService) -> None:
    client_id, secret = new_client(auth, "adherence:read", "events:write")
    token = fetch_token(http, client_id, secret, scope="adherence:read")

    active = http.post("/oauth/introspect", data={"token": token}, headers=basic(client_id, secret))
    inactive = http.post(
        "/oauth/introspect",
        data={"token": "not-a-token", "client_id": client_id, "client_secret": secret},
    )
    anonymous = http.post("/oauth/introspect", data={"token": token})

    assert active.status_code == 200
    body = active.json()
    assert body["active"] is True
    assert body["client_id"] == client_id
    assert body["sub"] == client_id
    assert body["scope"] == "adherence:read"
    assert body["iss"] == ISSUER
    assert body["exp"] - body["iat"] == LIFETIME
    assert body["token_type"] == "Bearer"
    assert inactive.status_code == 200
    assert inactive.json() == {"active": False}
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"


def test_a_revoked_token_is_refused_with_invalid_token(http: TestClient, auth: AuthService) -> None:
    client_id, secret = new_client(auth, "events:write")
    token = fetch_token(http, client_id, secret)
    assert submit(http, token).status_code == 200

    revoked = http.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        headers=basic(client_id, secret),
    )

    assert revoked.status_code == 200
    assert_invalid_token(submit(http, token), "revoked")
    introspected = http.post(
        "/oauth/introspect", data={"token": token}, headers=basic(client_id, secret)
    )
    assert introspected.json() == {"active": False}
    again = http.post("/oauth/revoke", data={"token": token}, headers=basic(client_id, secret))
    assert again.status_code == 200


def test_revoking_an_unknown_token_is_ok_and_anothers_token_is_refused(
    http: TestClient, auth: AuthService
) -> None:
    owner_id, owner_secret = new_client(auth, "events:write")
    other_id, other_secret = new_client(auth, "events:write")
    token = fetch_token(http, owner_id, owner_secret)

    unknown = http.post(
        "/oauth/revoke", data={"token": "garbage"}, headers=basic(other_id, other_secret)
    )
    anothers = http.post(
        "/oauth/revoke", data={"token": token}, headers=basic(other_id, other_secret)
    )
    anonymous = http.post("/oauth/revoke", data={"token": token})

    assert unknown.status_code == 200
    assert anothers.status_code == 400
    assert anothers.json()["error"] == "invalid_grant"
    assert anonymous.status_code == 401
    assert submit(http, token).status_code == 200  # still valid


def test_an_expired_token_is_refused_with_invalid_token(
    http: TestClient, auth: AuthService, clock: Clock
) -> None:
    client_id, secret = new_client(auth, "events:write")
    token = fetch_token(http, client_id, secret)

    clock.advance(LIFETIME - 1)
    assert submit(http, token).status_code == 200
    clock.advance(2)

    assert_invalid_token(submit(http, token), "expired")


# --- bearer-token security on routes ---------------------------------------------------------


def test_no_token_is_401_with_a_bare_bearer_challenge(http: TestClient) -> None:
    missing = http.post("/api/v1/events")
    other_scheme = http.post("/api/v1/events", headers={"Authorization": "Basic Zm9vOmJhcg=="})

    for response in (missing, other_scheme):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="adhere"'
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["code"] == "auth.missing_token"


def test_a_token_without_the_routes_scope_is_403_naming_required_and_granted_scopes(
    http: TestClient, auth: AuthService
) -> None:
    client_id, secret = new_client(auth, "adherence:read", "schedule:agent:read")
    token = fetch_token(http, client_id, secret)

    response = submit(http, token)

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="adhere", error="insufficient_scope", scope="events:write"'
    )
    body = response.json()
    assert body["status"] == 403
    assert body["code"] == "auth.insufficient_scope"
    assert body["required_scopes"] == ["events:write"]
    assert body["granted_scopes"] == ["adherence:read", "schedule:agent:read"]
    assert body["detail"] == (
        "this route needs scope 'events:write'; "
        "the token has 'adherence:read', 'schedule:agent:read'"
    )


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda token: token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"), "signature"),
        (lambda token: "x" + token, "not a JWT"),
        (lambda _token: "plainly.not.ajwt", "not a JWT"),
    ],
    ids=["tampered-signature", "garbage-header", "garbage"],
)
def test_a_malformed_or_tampered_token_is_invalid(
    http: TestClient, auth: AuthService, mangle: Any, reason: str
) -> None:
    client_id, secret = new_client(auth, "events:write")
    token = fetch_token(http, client_id, secret)

    assert_invalid_token(submit(http, mangle(token)), reason)


def test_tokens_not_ours_are_invalid(http: TestClient, auth: AuthService, engine: Engine) -> None:
    """Signed by another key under our kid, of the wrong type, or for another issuer or audience."""
    client_id, secret = new_client(auth, "events:write")
    header, claims = jwt_parts(fetch_token(http, client_id, secret))
    with engine.connect() as connection:
        private_jwk = connection.execute(
            select(signing_keys.c.private_jwk).where(signing_keys.c.kid == header["kid"])
        ).scalar_one()
    ours = import_key(private_jwk)
    forger = RSAKey.generate_key(2048, private=True)

    forged = jwt.encode(header, claims, forger)
    plain_jwt = jwt.encode({**header, "typ": "JWT"}, claims, ours)
    other_issuer = jwt.encode(header, {**claims, "iss": "http://elsewhere"}, ours)
    other_audience = jwt.encode(header, {**claims, "aud": "someone-else"}, ours)
    untyped_scope = jwt.encode(header, {**claims, "scope": ["events:write"]}, ours)

    assert_invalid_token(submit(http, forged), "signature")
    assert_invalid_token(submit(http, plain_jwt), "at+jwt")
    assert_invalid_token(submit(http, other_issuer), "another server")
    assert_invalid_token(submit(http, other_audience), "not meant for")
    assert_invalid_token(submit(http, untyped_scope), "'scope'")
    assert submit(http, jwt.encode(header, claims, ours)).status_code == 200  # the control
    assert auth.introspect(forged) == {"active": False}


def test_verifying_reads_no_keys_from_the_database_once_cached(
    http: TestClient, auth: AuthService, engine: Engine
) -> None:
    client_id, secret = new_client(auth, "events:write")
    token = fetch_token(http, client_id, secret)
    auth.verify(token)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            auth.verify(token)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    queries = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 6  # per token: the client's state, the token's revocation
    assert not [sql for sql in queries if "signing_keys" in sql]
    assert all("oauth_clients" in sql or "revoked_tokens" in sql for sql in queries)


# --- changing clients invalidates their tokens -----------------------------------------------


def test_changing_scopes_invalidates_earlier_tokens(http: TestClient, auth: AuthService) -> None:
    client_id, secret = new_client(auth, "events:write")
    old = fetch_token(http, client_id, secret)

    auth.set_scopes(client_id, ["events:write", "adherence:read"])

    assert_invalid_token(submit(http, old), "scopes or secret changed")
    new = fetch_token(http, client_id, secret)
    assert submit(http, new).json()["scopes"] == ["adherence:read", "events:write"]


def test_setting_the_same_scopes_again_keeps_tokens_valid(
    http: TestClient, auth: AuthService
) -> None:
    client_id, secret = new_client(auth, "events:write", "adherence:read")
    token = fetch_token(http, client_id, secret)

    unchanged = auth.set_scopes(client_id, ["adherence:read", "events:write"])

    assert unchanged.generation == auth.get_client(client_id).generation
    assert submit(http, token).status_code == 200


def test_rotating_the_secret_invalidates_earlier_tokens_and_the_old_secret(
    http: TestClient, auth: AuthService
) -> None:
    client_id, old_secret = new_client(auth, "events:write")
    old = fetch_token(http, client_id, old_secret)

    new_secret = auth.rotate_secret(client_id)

    assert new_secret != old_secret
    assert_invalid_token(submit(http, old), "scopes or secret changed")
    refused = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client_id, old_secret),
    )
    assert refused.status_code == 401
    assert submit(http, fetch_token(http, client_id, new_secret)).status_code == 200


def test_revoking_a_client_invalidates_its_tokens(http: TestClient, auth: AuthService) -> None:
    client_id, secret = new_client(auth, "events:write")
    token = fetch_token(http, client_id, secret)

    auth.revoke_client(client_id)

    assert_invalid_token(submit(http, token), "client has been revoked")
    assert auth.get_client(client_id).revoked is True


def test_unknown_scope_names_are_rejected(auth: AuthService) -> None:
    client_id, _ = new_client(auth, "events:write")

    with pytest.raises(InvalidInput, match="unknown scope") as created:
        auth.create_client("x", ["events:write", "events:read"])
    with pytest.raises(InvalidInput, match="'everything'") as changed:
        auth.set_scopes(client_id, ["everything"])

    assert created.value.field == "scopes"
    assert changed.value.field == "scopes"
    assert auth.get_client(client_id).scopes == ("events:write",)


def test_secrets_are_stored_as_argon2_hashes(auth: AuthService, engine: Engine) -> None:
    client, secret = auth.create_client("hashed", ["events:write"])

    with engine.connect() as connection:
        stored = connection.execute(
            select(oauth_clients.c.secret_hash).where(oauth_clients.c.id == client.id)
        ).scalar_one()

    assert stored.startswith("$argon2id$")
    assert secret not in stored
    assert PasswordHasher().verify(stored, secret)
    assert client.id.startswith("cl_")
    assert len(secret) >= 40


# --- signing key rotation --------------------------------------------------------------------


def test_key_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
    http: TestClient, auth: AuthService, engine: Engine, clock: Clock
) -> None:
    client_id, secret = new_client(auth, "events:write")
    old_token = fetch_token(http, client_id, secret)
    old_kid = jwt_parts(old_token)[0]["kid"]

    new_kid = auth.rotate_signing_key()
    new_token = fetch_token(http, client_id, secret)

    assert new_kid != old_kid
    assert jwt_parts(new_token)[0]["kid"] == new_kid
    assert submit(http, old_token).status_code == 200
    assert submit(http, new_token).status_code == 200
    published = {key["kid"] for key in http.get("/.well-known/jwks.json").json()["keys"]}
    assert published == {old_kid, new_kid}
    with engine.connect() as connection:
        retired = {
            row.kid: row.retired_us
            for row in connection.execute(select(signing_keys.c.kid, signing_keys.c.retired_us))
        }
    assert retired[old_kid] == int(clock() * 1_000_000)
    assert retired[new_kid] is None

    clock.advance(LIFETIME + 1)  # every token the old key signed has expired: it can go
    newest_kid = auth.rotate_signing_key()

    assert_invalid_token(submit(http, old_token), "expired")
    published = {key["kid"] for key in http.get("/.well-known/jwks.json").json()["keys"]}
    assert published == {new_kid, newest_kid}


def test_a_key_rotated_by_another_process_is_picked_up(
    http: TestClient, auth: AuthService, engine: Engine, settings: Settings, clock: Clock
) -> None:
    client_id, secret = new_client(auth, "events:write")
    fetch_token(http, client_id, secret)  # the server has cached the first key
    cli = AuthService(engine, settings, now=clock)

    new_kid = cli.rotate_signing_key()
    token_from_elsewhere = cli.issue_token(client_id, secret, None)["access_token"]

    assert jwt_parts(token_from_elsewhere)[0]["kid"] == new_kid
    assert submit(http, token_from_elsewhere).status_code == 200
    assert jwt_parts(fetch_token(http, client_id, secret))[0]["kid"] == new_kid


# --- the admin API for clients ---------------------------------------------------------------


def test_admin_api_manages_clients_and_never_shows_secrets_again(
    http: TestClient, auth: AuthService
) -> None:
    admin_id, admin_secret = new_client(auth, "admin")
    admin = bearer(fetch_token(http, admin_id, admin_secret))

    created = http.post(
        "/api/v1/clients", json={"name": "genesys", "scopes": ["events:write"]}, headers=admin
    )
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    client = created.json()
    assert client["name"] == "genesys"
    assert client["scopes"] == ["events:write"]
    assert client["revoked"] is False
    assert client["created_at"].endswith("Z")
    assert created.headers["Location"] == f"/api/v1/clients/{client['id']}"
    token = fetch_token(http, client["id"], client["client_secret"])

    listed = http.get("/api/v1/clients", headers=admin).json()["clients"]
    assert {item["id"] for item in listed} == {admin_id, client["id"]}
    assert all("client_secret" not in item for item in listed)
    one = http.get(f"/api/v1/clients/{client['id']}", headers=admin)
    assert one.status_code == 200
    assert "client_secret" not in one.json()

    rescoped = http.put(
        f"/api/v1/clients/{client['id']}/scopes",
        json={"scopes": ["adherence:read", "events:write"]},
        headers=admin,
    )
    assert rescoped.json()["scopes"] == ["events:write", "adherence:read"]
    assert submit(http, token).status_code == 401

    rotated = http.post(f"/api/v1/clients/{client['id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert new_secret != client["client_secret"]
    token = fetch_token(http, client["id"], new_secret)

    deleted = http.delete(f"/api/v1/clients/{client['id']}", headers=admin)
    assert deleted.status_code == 204
    assert http.get(f"/api/v1/clients/{client['id']}", headers=admin).json()["revoked"] is True
    assert submit(http, token).status_code == 401
    conflict = http.put(
        f"/api/v1/clients/{client['id']}/scopes", json={"scopes": []}, headers=admin
    )
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "client.revoked"


def test_admin_api_errors_are_problems(http: TestClient, auth: AuthService) -> None:
    admin_id, admin_secret = new_client(auth, "admin")
    reader_id, reader_secret = new_client(auth, "adherence:read")
    admin = bearer(fetch_token(http, admin_id, admin_secret))

    unknown_scope = http.post(
        "/api/v1/clients", json={"name": "x", "scopes": ["events:read"]}, headers=admin
    )
    missing = http.get("/api/v1/clients/cl_nobody", headers=admin)
    not_admin = http.get(
        "/api/v1/clients", headers=bearer(fetch_token(http, reader_id, reader_secret))
    )

    assert unknown_scope.status_code == 422
    assert unknown_scope.headers["content-type"] == PROBLEM_JSON
    assert unknown_scope.json()["errors"][0]["field"] == "scopes"
    assert "events:read" in unknown_scope.json()["detail"]
    assert missing.status_code == 404
    assert missing.json()["code"] == "client.not_found"
    assert not_admin.status_code == 403
    assert not_admin.json()["required_scopes"] == ["admin"]


def test_openapi_declares_each_routes_scope_and_the_client_credentials_flow(app: FastAPI) -> None:
    document = app.openapi()

    scheme = document["components"]["securitySchemes"]["oauth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert list(flow["scopes"]) == list(KNOWN_SCOPES)
    assert document["paths"]["/api/v1/events"]["post"]["security"] == [{"oauth2": ["events:write"]}]
    for method in ("get", "post"):
        assert document["paths"]["/api/v1/clients"][method]["security"] == [{"oauth2": ["admin"]}]
    token_response = document["paths"]["/oauth/token"]["post"]["responses"]["200"]
    assert token_response["content"]["application/json"]["schema"]["$ref"].endswith(
        "/TokenResponse"
    )


# --- interoperability: Authlib as the client -------------------------------------------------


def test_authlib_fetches_a_token_and_calls_a_protected_route(
    app: FastAPI, auth: AuthService
) -> None:
    client_id, secret = new_client(auth, "events:write", "adherence:read")

    with (
        serving(app) as base,
        OAuth2Client(
            client_id,
            secret,
            scope="events:write",
            token_endpoint_auth_method="client_secret_basic",
        ) as session,
    ):
        token = session.fetch_token(f"{base}/oauth/token", grant_type="client_credentials")
        called = session.post(f"{base}/api/v1/events")
        with (
            OAuth2Client(
                client_id, secret, scope="admin", token_endpoint_auth_method="client_secret_post"
            ) as greedy,
            pytest.raises(OAuthError) as refused,
        ):
            greedy.fetch_token(f"{base}/oauth/token", grant_type="client_credentials")

    assert token["scope"] == "events:write"
    assert token["token_type"] == "Bearer"
    assert called.status_code == 200
    assert called.json() == {"client_id": client_id, "scopes": ["events:write"]}
    assert refused.value.error == "invalid_scope"


# --- the CLI ---------------------------------------------------------------------------------


def cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(clients_app, name="clients")
    app.add_typer(keys_app, name="keys")
    return app


def run(*args: str) -> Any:
    return CliRunner().invoke(cli(), list(args))


def field(output: str, label: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith(label)]
    return line.split(":", 1)[1].strip()


def test_cli_manages_clients_on_the_servers_database(
    http: TestClient, auth: AuthService, database_url: str
) -> None:
    db = ("--db", database_url)
    created = run(
        "clients", "create", "--name", "flex", "--scopes", "events:write adherence:read", *db
    )

    assert created.exit_code == 0, created.output
    client_id = field(created.stdout, "client id")
    secret = field(created.stdout, "client secret")
    assert "will not be shown again" in created.stderr
    assert auth.get_client(client_id).scopes == ("events:write", "adherence:read")
    token = fetch_token(http, client_id, secret)

    listed = run("clients", "list", *db)
    assert listed.exit_code == 0
    assert client_id in listed.stdout
    assert "flex" in listed.stdout
    assert secret not in listed.stdout

    rescoped = run("clients", "set-scopes", client_id, "--scopes", "events:write", *db)
    assert rescoped.exit_code == 0
    assert auth.get_client(client_id).scopes == ("events:write",)
    assert submit(http, token).status_code == 401  # the server sees the CLI's change at once

    rotated = run("clients", "rotate-secret", client_id, *db)
    assert rotated.exit_code == 0
    new_secret = field(rotated.stdout, "client secret")
    assert "will not be shown again" in rotated.stderr
    token = fetch_token(http, client_id, new_secret)
    assert submit(http, token).status_code == 200

    revoked = run("clients", "revoke", client_id, *db)
    assert revoked.exit_code == 0
    assert submit(http, token).status_code == 401
    assert "revoked" in run("clients", "list", *db).stdout


def test_cli_rotates_the_signing_key(
    http: TestClient, auth: AuthService, database_url: str
) -> None:
    client_id, secret = new_client(auth, "events:write")
    old_token = fetch_token(http, client_id, secret)

    rotated = run("keys", "rotate", "--db", database_url)

    assert rotated.exit_code == 0, rotated.output
    kid = field(rotated.stdout, "new signing key")
    assert jwt_parts(fetch_token(http, client_id, secret))[0]["kid"] == kid
    assert submit(http, old_token).status_code == 200


def test_cli_errors_go_to_stderr_with_exit_code_2(auth: AuthService, database_url: str) -> None:
    db = ("--db", database_url)
    unknown_scope = run("clients", "create", "--name", "x", "--scopes", "events:read", *db)
    unknown_client = run("clients", "revoke", "cl_nobody", *db)
    bad_url = run("clients", "list", "--db", "mysql://nowhere/db")

    assert unknown_scope.exit_code == 2
    assert "unknown scope(s) 'events:read'" in unknown_scope.stderr
    assert unknown_client.exit_code == 2
    assert "no client 'cl_nobody'" in unknown_client.stderr
    assert bad_url.exit_code == 2
    assert "unsupported database" in bad_url.stderr
    assert auth.list_clients() == []
