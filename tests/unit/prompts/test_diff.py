from __future__ import annotations

from domain.prompts import Message, ModelSettings, Template, VersionContent, content_changes
from domain.prompts.diff import settings_text, template_text, unified

from .support import make_prompt


def test_diff_of_a_version_with_itself_is_empty() -> None:
    prompt = make_prompt()
    diff = prompt.diff("main", "main")
    assert diff.is_empty and diff.to_text() == "" and diff.changes == ()


def test_template_diff_is_a_unified_diff_named_by_short_ids() -> None:
    prompt = make_prompt(template=Template.from_text("line one\nline two\n"))
    old = prompt.head()
    new = prompt.commit(actor="u", template=Template.from_text("line one\nline 2\n"))
    diff = prompt.diff(old.id, new.id)
    assert diff.template == (
        f"--- {old.id[:12]}/template\n"
        f"+++ {new.id[:12]}/template\n"
        "@@ -1,2 +1,2 @@\n"
        " line one\n"
        "-line two\n"
        "+line 2\n"
    )
    assert diff.settings == ""
    assert diff.changes == ("template.text",)


def test_settings_diff_compares_sorted_json() -> None:
    prompt = make_prompt()
    old = prompt.head()
    new = prompt.commit(actor="u", settings=ModelSettings(model="gpt-4o-mini", temperature=0.9))
    diff = prompt.diff(old.id, new.id)
    assert '-  "temperature": 0.2\n+  "temperature": 0.9\n' in diff.settings
    assert diff.template == ""
    assert diff.changes == ("settings.temperature",)


def test_chat_templates_diff_with_a_role_line_per_message() -> None:
    template = Template.from_messages([Message("system", "Be kind"), Message("user", "{{ q }}")])
    assert template_text(template) == "[system]\nBe kind\n[user]\n{{ q }}\n"


def test_a_missing_final_newline_is_shown_like_git() -> None:
    diff = unified("a\nb", "a\nc", "old", "new")
    assert diff.endswith("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n")


def test_settings_text_is_indented_sorted_json() -> None:
    assert settings_text(ModelSettings(top_p=0.5, model="m")) == (
        '{\n  "model": "m",\n  "top_p": 0.5\n}\n'
    )


def test_changes_name_messages_settings_and_extra_keys() -> None:
    old = VersionContent(
        Template.from_messages([Message("system", "s"), Message("user", "u")]),
        ModelSettings(model="a", extra={"x": 1, "y": 2}),
    )
    new = VersionContent(
        Template.from_messages(
            [Message("system", "s"), Message("user", "U"), Message("user", "+")]
        ),
        ModelSettings(model="b", extra={"x": 1, "z": 3}),
    )
    assert content_changes(old, new) == (
        "template.messages[1]",
        "template.messages[2]",
        "settings.extra.y",
        "settings.extra.z",
        "settings.model",
    )


def test_switching_text_to_chat_changes_the_whole_template() -> None:
    old = VersionContent(Template.from_text("u"))
    new = VersionContent(Template.from_messages([Message("user", "u")]))
    assert content_changes(old, new) == ("template",)
