"""Velocity templates and translation maps of data actions, on Genesys Cloud's example."""

from __future__ import annotations

import json

import pytest

from adhere.adapters.action_templates import render, translate
from adhere.domain.data_actions import parse_action
from adhere.domain.errors import InvalidInput
from tests.unit.test_data_actions import EXPORTED


def test_the_exported_example_runs_from_input_to_output() -> None:
    action = parse_action(EXPORTED)
    url = render(action.url_template, {"input": {"userId": "u-1"}}, "url")
    assert url == "/api/v2/workforcemanagement/adherence?userId=u-1"
    values = translate(
        '[{"adherenceState": "InAdherence"}]',
        action.translation_map,
        action.translation_map_defaults,
    )
    assert values == {"state": '"InAdherence"', "impact": '"Unknown"'}
    output = render(action.success_template, values, "success")
    assert json.loads(output) == {"state": "InAdherence", "impact": "Unknown"}


def test_escapes_make_text_safe_in_json_and_urls() -> None:
    context = {"input": {"name": 'Lee "the closer"\\n', "q": "a b&c/d"}}
    body = render('{"name": "$esc.jsonString(${input.name})"}', context, "body")
    assert json.loads(body) == {"name": 'Lee "the closer"\\n'}
    assert render("/find?q=$esc.url(${input.q})", context, "url") == "/find?q=a%20b%26c%2Fd"


def test_credentials_and_the_auth_response_are_there_to_use() -> None:
    context = {"credentials": {"apiKey": "k"}, "authResponse": {"access_token": "t"}}
    rendered = render("Bearer ${authResponse.access_token} / ${credentials.apiKey}", context, "h")
    assert rendered == "Bearer t / k"


def test_a_reference_to_nothing_is_an_error_naming_it() -> None:
    with pytest.raises(InvalidInput) as raised:
        render("/users/${input.userId}", {"input": {}}, "config.request.requestUrlTemplate")
    assert raised.value.field == "config.request.requestUrlTemplate"
    assert "${input.userId}" in raised.value.message
    assert render("[$!{input.missing}]", {"input": {}}, "body") == "[]"


def test_translation_finds_one_value_many_values_or_the_default() -> None:
    body = '{"items": [{"id": 1}, {"id": 2}], "owner": {"name": "Lee"}}'
    found = translate(
        body, {"ids": "$.items[*].id", "owner": "$.owner.name", "x": "$.nope"}, {"x": "null"}
    )
    assert found == {"ids": "[1, 2]", "owner": '"Lee"', "x": "null"}


def test_translation_without_a_result_or_a_default_names_the_entry() -> None:
    with pytest.raises(InvalidInput) as raised:
        translate("{}", {"state": "$.state"}, {})
    assert raised.value.field == "config.response.translationMap.state"
    with pytest.raises(InvalidInput, match="is not a JSONPath"):
        translate("{}", {"state": "$[[["}, {})
