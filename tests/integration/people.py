"""People who log in: users made through the service, and a browser holding a session cookie."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from adhere.adapters.user_store import UserRecord
from tests.integration.conftest import Api

PASSWORD = "correct horse battery"


def person(api: Api, username: str, role: str, **fields: Any) -> UserRecord:
    user, generated = api.container.users.create_user(username, role, password=PASSWORD, **fields)
    assert generated is None
    return user


class Browser:
    """What a browser does: keeps the Secure cookie (over https) and sends it on every call;
    the page's script adds the CSRF token to state-changing calls, as the board's does."""

    def __init__(self, api: Api) -> None:
        self.client = TestClient(api.client.app, base_url="https://testserver")
        self.csrf = ""

    def log_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        response = self.client.post(
            "/api/v1/session", json={"username": username, "password": password}
        )
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    def set_cookie(self, token: str) -> None:
        """Send this session cookie from now on (the jar files host "testserver" as .local)."""
        self.client.cookies.set("adhere_session", token, domain="testserver.local")

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.get(url, **kw)

    def send(self, method: str, url: str, *, csrf: bool = True, **kw: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.client.request(method, url, headers=headers, **kw)


def logged_in(api: Api, username: str) -> Browser:
    browser = Browser(api)
    response = browser.log_in(username)
    assert response.status_code == 200, response.text
    return browser
