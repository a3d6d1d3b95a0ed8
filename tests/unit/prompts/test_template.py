from __future__ import annotations

import pytest

from domain.errors import ValidationError
from domain.prompts import Message, Template, find_variables


def test_variables_are_found_with_or_without_spaces_in_order_of_first_use() -> None:
    assert find_variables("{{b}} {{ a }} {{  b  }} {{\ta\t}}") == ("b", "a")


def test_non_identifier_placeholders_are_not_variables() -> None:
    assert find_variables("{{ user.name }} {{ 1x }} {{ a b }} {{ f() }} {{}}") == ()


def test_chat_template_variables_span_all_messages() -> None:
    template = Template.from_messages(
        [
            {"role": "system", "content": "You are {{ persona }}"},
            {"role": "user", "content": "{{q}}"},
        ]
    )
    assert template.variables == ("persona", "q")


def test_text_template_renders_to_text_and_one_user_message() -> None:
    rendered = Template.from_text("Hi {{ name }}!").render({"name": "Ann"})
    assert rendered.text == "Hi Ann!"
    assert rendered.as_dicts() == [{"role": "user", "content": "Hi Ann!"}]


def test_chat_template_renders_each_message_keeping_roles() -> None:
    template = Template.from_messages(
        [Message("system", "Be {{ tone }}"), Message("user", "{{ q }}")]
    )
    rendered = template.render({"tone": "brief", "q": "Why?"})
    assert rendered.text is None
    assert rendered.as_dicts() == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Why?"},
    ]


def test_render_names_every_missing_variable() -> None:
    template = Template.from_text("{{ a }} {{ b }} {{ c }}")
    with pytest.raises(ValidationError) as info:
        template.render({"b": 1})
    assert info.value.details["reason"] == "missing-variables"
    assert info.value.details["missing"] == ["a", "c"]
    assert "a, c" in info.value.message


def test_extra_values_are_ignored_unless_strict() -> None:
    template = Template.from_text("{{ a }}")
    assert template.render({"a": "x", "zz": 1, "b": 2}).text == "x"
    with pytest.raises(ValidationError) as info:
        template.render({"a": "x", "zz": 1, "b": 2}, strict=True)
    assert info.value.details["reason"] == "unknown-variables"
    assert info.value.details["unknown"] == ["b", "zz"]


def test_strict_render_reports_missing_and_unknown_together() -> None:
    with pytest.raises(ValidationError) as info:
        Template.from_text("{{ a }}").render({"b": 1}, strict=True)
    assert info.value.details["missing"] == ["a"]
    assert info.value.details["unknown"] == ["b"]


def test_substituted_values_are_not_expanded_again() -> None:
    rendered = Template.from_text("{{ a }} {{ b }}").render({"a": "{{ b }}", "b": "B"})
    assert rendered.text == "{{ b }} B"


def test_no_expressions_or_attribute_access_are_evaluated() -> None:
    text = "{{ name.__class__ }} {{ 7*7 }} {% for x in y %} {{ name }}"
    assert Template.from_text(text).render({"name": "n"}).text == (
        "{{ name.__class__ }} {{ 7*7 }} {% for x in y %} n"
    )


def test_non_string_values_render_as_json() -> None:
    template = Template.from_text("{{ n }}|{{ f }}|{{ ok }}|{{ none }}|{{ items }}")
    rendered = template.render({"n": 3, "f": 0.5, "ok": True, "none": None, "items": ["x", 1]})
    assert rendered.text == '3|0.5|true|null|["x", 1]'


def test_text_and_messages_are_mutually_exclusive() -> None:
    with pytest.raises(ValidationError) as info:
        Template(text="a", messages=(Message("user", "b"),))
    assert info.value.details["reason"] == "invalid-template"


@pytest.mark.parametrize("template", [{"text": "   "}, {"messages": []}])
def test_empty_templates_are_refused(template: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        Template.from_dict(template)
    assert info.value.details["reason"] == "empty-template"


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Template.from_messages([{"role": "tool", "content": "x"}])
    assert info.value.details["reason"] == "invalid-role"


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Template.from_text("bad \ud800 text")
    assert info.value.details["reason"] == "invalid-text"


@pytest.mark.parametrize(
    "data",
    [
        {"text": "a", "messages": []},
        {"messages": [{"role": "user"}]},
        {"messages": [{"role": "user", "content": "x", "name": "n"}]},
        {"body": "x"},
        ["text"],
    ],
)
def test_malformed_template_dicts_are_refused(data: object) -> None:
    with pytest.raises(ValidationError) as info:
        Template.from_dict(data)
    assert info.value.details["reason"] == "invalid-template"


@pytest.mark.parametrize(
    "template",
    [
        Template.from_text("Hi {{ x }}"),
        Template.from_messages([Message("system", "s"), Message("assistant", "")]),
    ],
)
def test_dict_form_round_trips(template: Template) -> None:
    assert Template.from_dict(template.to_dict()) == template


def test_size_counts_utf8_bytes_of_all_parts() -> None:
    template = Template.from_messages([Message("system", "é"), Message("user", "ab")])
    assert template.size_bytes == 4


def test_templates_over_the_limit_are_refused_with_sizes() -> None:
    template = Template.from_text("x" * 1_000_001)
    template.check_size(2_000_000)
    with pytest.raises(ValidationError) as info:
        template.check_size()
    assert info.value.details == {
        "reason": "template-too-large",
        "size_bytes": 1_000_001,
        "limit_bytes": 256 * 1024,
    }
