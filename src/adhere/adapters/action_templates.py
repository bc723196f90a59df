"""Rendering a data action's templates and translating its response, as Genesys Cloud does.

Templates are Velocity (airspeed) with `$input`, `$credentials`, `$authResponse` and `$esc`
(`$esc.jsonString(…)`, `$esc.url(…)`). A reference to something that is not there is an error
naming it (Genesys: `invalid.substitution`), never left in the output. The translation map
takes values out of the response by JSONPath; each becomes a JSON literal for the success
template (``{"state": ${state}}``), or its default (itself a JSON literal) when the path finds
nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import airspeed
from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext import parse as parse_path

from adhere.domain.errors import InvalidInput

_REFERENCE = re.compile(r"\$!?\{?([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\}?")
_TOOLS = {"esc"}


class Escapes:
    """Velocity's EscapeTool, the two methods data actions use."""

    def jsonString(self, value: object) -> str:  # noqa: N802 (Velocity's name)
        return json.dumps(str(value))[1:-1]

    def url(self, value: object) -> str:
        return quote(str(value), safe="")


def render(template: str, context: Mapping[str, Any], where: str) -> str:
    """The template merged with `context` (plus `$esc`)."""
    _check_references(template, context, where)
    try:
        return str(airspeed.Template(template).merge({**context, "esc": Escapes()}))
    except airspeed.TemplateError as error:
        raise InvalidInput(f"is not a valid Velocity template: {error}", where) from None


def translate(
    body: str, translation_map: Mapping[str, str], defaults: Mapping[str, str]
) -> dict[str, str]:
    """Each translation map name with its JSON literal, found by JSONPath or defaulted."""
    try:
        document = json.loads(body) if body.strip() else None
    except ValueError:
        document = None
    values: dict[str, str] = {}
    for name, path in translation_map.items():
        where = f"config.response.translationMap.{name}"
        try:
            expression = parse_path(path)
        except JsonPathParserError as error:
            raise InvalidInput(f"is not a JSONPath: {error}", where) from None
        found = [match.value for match in expression.find(document)]
        if len(found) == 1:
            values[name] = json.dumps(found[0])
        elif found:
            values[name] = json.dumps(found)
        elif name in defaults:
            values[name] = defaults[name]
        else:
            raise InvalidInput(f"found nothing at {path} and has no default", where)
    return values


def _check_references(template: str, context: Mapping[str, Any], where: str) -> None:
    for match in _REFERENCE.finditer(template):
        if match.group(0).startswith("$!"):
            continue  # a quiet reference renders as nothing when absent, as in Velocity
        head, *rest = match.group(1).split(".")
        if head in _TOOLS:
            continue
        value: Any = context
        for part in (head, *rest):
            if not isinstance(value, Mapping):
                break  # a method or attribute of a value: airspeed's to resolve
            if part not in value:
                raise InvalidInput(f"refers to ${{{match.group(1)}}}, which is not set", where)
            value = value[part]
