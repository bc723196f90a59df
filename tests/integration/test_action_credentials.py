"""Credential secrets are sealed at rest (Fernet): the database never holds them in the clear,
the key file is made private on first use, and another key cannot open them."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from adhere.adapters import schema
from adhere.adapters.sealing import Sealer, SecretKeyError
from adhere.bootstrap import command_context, secret_sealer
from adhere.config import Settings
from adhere.service import data_actions
from adhere.service.context import ServiceContext

SECRETS = {
    "basic": ({"kind": "basic", "username": "lee", "password": "hunter2-basic"}, "hunter2-basic"),
    "user_defined": (
        {"kind": "user_defined", "fields": {"apiKey": "k-user-defined-42"}},
        "k-user-defined-42",
    ),
    "oauth": (
        {
            "kind": "oauth_client_credentials",
            "token_url": "https://login.example.com/oauth/token",
            "client_id": "adhere",
            "client_secret": "s3cr3t-oauth-client",
            "scopes": ["presence"],
        },
        "s3cr3t-oauth-client",
    ),
}


@pytest.fixture
def ctx(database_url: str) -> Iterator[ServiceContext]:
    context = command_context(database_url)
    yield context
    context.store.engine.dispose()


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_the_database_row_holds_no_plaintext_secret(
    ctx: ServiceContext, tmp_path: Path, kind: str
) -> None:
    document, plaintext = SECRETS[kind]
    sealer = Sealer(key_file=tmp_path / "adhere.key")
    credential = data_actions.create_credential(ctx, sealer, {"name": kind, **document})
    table = schema.action_credentials
    with ctx.store.engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == credential.id)).one()
    assert plaintext not in repr(tuple(row))
    assert plaintext not in row.sealed_secret
    assert plaintext not in str(credential)
    assert Sealer(key_file=tmp_path / "adhere.key").unseal(row.sealed_secret, "it") == (
        document.get("fields") or {k: v for k, v in document.items() if v == plaintext}
    )


def test_the_key_file_is_created_private_on_first_use_and_then_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "adhere.key"
    sealer = Sealer(key_file=key_file)
    assert not key_file.exists()  # nothing sealed yet: no key made
    sealed = sealer.seal({"password": "p"})
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    Fernet(key.strip())  # a real Fernet key
    assert Sealer(key_file=key_file).unseal(sealed, "it") == {"password": "p"}
    assert key_file.read_bytes() == key


def test_a_secret_sealed_with_another_key_is_refused_clearly(tmp_path: Path) -> None:
    sealed = Sealer(key_file=tmp_path / "one.key").seal({"password": "p"})
    with pytest.raises(SecretKeyError, match=r"credential 'cr_1' cannot be opened .*two\.key"):
        Sealer(key_file=tmp_path / "two.key").unseal(sealed, "credential 'cr_1'")


def test_the_key_may_come_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("ADHERE_SECRET_KEY", key)
    sealed = secret_sealer(Settings()).seal({"password": "p"})
    assert Fernet(key.encode()).decrypt(sealed.encode()) == b'{"password":"p"}'
    assert not (tmp_path / "adhere.key").exists()
    monkeypatch.setenv("ADHERE_SECRET_KEY", "not-a-key")
    with pytest.raises(SecretKeyError, match="ADHERE_SECRET_KEY is not a Fernet key"):
        secret_sealer(Settings()).seal({"password": "p"})
    monkeypatch.delenv("ADHERE_SECRET_KEY")
    monkeypatch.setenv("ADHERE_SECRET_KEY_FILE", str(tmp_path / "elsewhere.key"))
    secret_sealer(Settings()).seal({"password": "p"})
    assert (tmp_path / "elsewhere.key").exists()
