"""Sealing credential secrets at rest: Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`.

The key is the ``secret_key`` setting (``ADHERE_SECRET_KEY``) when given, else the file named by
``secret_key_file`` (``./adhere.key``), created with mode 0600 the first time a secret is
sealed or opened. The server and the command line must use the same key: a secret sealed with
one key cannot be opened with another, and losing the key loses the secrets (not the actions;
the credentials can be entered again).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken


class SecretKeyError(Exception):
    """The key is missing, malformed, unreadable, or not the one a secret was sealed with."""


class Sealer:
    def __init__(self, key: str | None = None, key_file: Path | str = "adhere.key") -> None:
        self._key = key
        self._key_file = Path(key_file)
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    @property
    def key_source(self) -> str:
        """Where the key comes from, in the words of the settings."""
        return "ADHERE_SECRET_KEY" if self._key else f"the key file {self._key_file}"

    def seal(self, secret: Mapping[str, str]) -> str:
        return self._cipher().encrypt(orjson.dumps(dict(secret))).decode("ascii")

    def unseal(self, sealed: str, what: str) -> dict[str, str]:
        """The secret values; `what` names the owner (``credential 'cr_…'``) in errors."""
        try:
            plain = self._cipher().decrypt(sealed.encode("ascii"))
        except (InvalidToken, ValueError):
            raise SecretKeyError(
                f"the secret of {what} cannot be opened with {self.key_source}: it was sealed "
                "with another key (enter the credential again, or use the key it was made with)"
            ) from None
        found = orjson.loads(plain)
        return {str(key): str(value) for key, value in found.items()}

    def _cipher(self) -> Fernet:
        with self._lock:
            if self._fernet is None:
                self._fernet = self._load()
            return self._fernet

    def _load(self) -> Fernet:
        if self._key:
            try:
                return Fernet(self._key.strip().encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raise SecretKeyError(
                    "ADHERE_SECRET_KEY is not a Fernet key (32 bytes, URL-safe base64); make one "
                    'with: python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"'
                ) from None
        path = self._key_file
        if not path.exists():
            _create_key_file(path)
        try:
            text = path.read_bytes().strip()
        except OSError as error:
            raise SecretKeyError(
                f"cannot read the key file {path}: {error.strerror or error}"
            ) from None
        try:
            return Fernet(text)
        except ValueError:
            raise SecretKeyError(
                f"the key file {path} does not hold a Fernet key (32 bytes, URL-safe base64)"
            ) from None


def _create_key_file(path: Path) -> None:
    """A new key, readable by its owner only; if another process made one first, keep that."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise SecretKeyError(
            f"cannot create the key file {path}: {error.strerror or error}"
        ) from None
    try:
        os.write(descriptor, Fernet.generate_key() + b"\n")
        os.fsync(descriptor)
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    finally:
        os.close(descriptor)
