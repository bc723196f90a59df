"""The browser's pages and static files: served with a strict Content-Security-Policy, never
cached without revalidation, kept out of the API document; anything else is a 404 problem."""

from __future__ import annotations

import re

import httpx
import pytest

from adhere.entrypoints.web.pages import STATIC
from tests.integration.conftest import Api

PAGES = {
    "/": "board.js",
    "/agents/ana/day": "day.js",
    "/reports": "reports.js",
    "/login": "login.js",
}
CSP = re.compile(r"(^|;\s*)script-src 'self'(;|$)")


def _assert_guarded(response: httpx.Response) -> None:
    headers = response.headers
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert CSP.search(policy), policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(("path", "script"), PAGES.items())
def test_pages_are_static_html_under_a_strict_policy(api: Api, path: str, script: str) -> None:
    response = api.client.get(path)  # no credentials: the page's script asks for them
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    _assert_guarded(response)
    html = response.text
    assert f'<script type="module" src="/static/{script}"></script>' in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, "an inline script"
    assert " style=" not in html, "an inline style, which the policy refuses"
    assert 'href="/static/adhere.css"' in html


def test_every_page_file_exists_for_the_routes_that_serve_it() -> None:
    for name in ("board.html", "day.html", "common.js", "adhere.css", "board.js", "day.js"):
        assert (STATIC / name).is_file(), name


@pytest.mark.parametrize(
    ("name", "media_type", "text"),
    [
        ("common.js", "text/javascript; charset=utf-8", "export async function session()"),
        ("board.js", "text/javascript; charset=utf-8", "new EventSource("),
        ("adhere.css", "text/css; charset=utf-8", "--state-out:"),
    ],
)
def test_static_files_are_served_with_their_type(
    api: Api, name: str, media_type: str, text: str
) -> None:
    response = api.client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    _assert_guarded(response)
    assert text in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/static/nothing.js",
        "/static/board.py",  # not a type the site serves
        "/static/..%2Fpages.py",
        "/static/.hidden.js",
        "/nowhere",
        "/agents/ana/night",
    ],
)
def test_anything_else_is_a_404_problem(api: Api, path: str) -> None:
    response = api.client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_pages_stay_out_of_the_api_document(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith(("/static", "/agents/{agent_id}/day"))]
    assert "/reports" not in paths
    assert "/login" not in paths
