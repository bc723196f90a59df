"""The browser's pages and their static files: plain HTML, CSS and ES modules, no build step.

Pages hold no data: their scripts fetch it with the session cookie. Every answer forbids
inline script and other origins (Content-Security-Policy), and is revalidated before reuse.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from adhere.entrypoints.api.problems import not_found

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_FILE_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")  # no folders, no "..", no dotfiles


@router.get("/")
def board() -> FileResponse:
    return _file("board.html")


@router.get("/agents/{agent_id}/day")
def agent_day(agent_id: str) -> FileResponse:
    """The agent is the page's script's to read from the path (and the API's to refuse)."""
    return _file("day.html")


@router.get("/reports")
def reports() -> FileResponse:
    return _file("reports.html")


@router.get("/login")
def login() -> FileResponse:
    return _file("login.html")


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    return _file(name)


def _file(name: str) -> FileResponse:
    path = STATIC / name
    media_type = _MEDIA_TYPES.get(path.suffix)
    if not _FILE_NAME.match(name) or media_type is None or not path.is_file():
        raise not_found("file", name)
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)
