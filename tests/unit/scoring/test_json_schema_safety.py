"""The json-schema scorer never fetches a URL or reads a file, and its patterns are bounded."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.errors import ValidationError
from domain.scoring import PureScorer, Score, ScoreContext, ScorerSpec, build_scorer
from tests.untrusted_refs import RefServer, ref_server, remote_schemas, secret_file


@pytest.fixture(name="ref_server")
def running_ref_server() -> Iterator[RefServer]:
    with ref_server() as server:
        yield server


@pytest.fixture(name="secret_file")
def private_file(tmp_path: Path) -> Path:
    return secret_file(tmp_path)


def build_and_score(schema: object, output: str = '"s3cret"') -> Score:
    scorer = build_scorer(ScorerSpec("json-schema", {"schema": schema}))
    assert isinstance(scorer, PureScorer)
    return scorer.score(ScoreContext(output=output))  # reached only when building wrongly works


def test_remote_references_are_refused_and_nothing_is_fetched(ref_server: RefServer) -> None:
    for schema in remote_schemas(ref_server.url):
        with pytest.raises(ValidationError, match=r"argument 'schema' is refused"):
            build_and_score(schema)
    assert ref_server.paths == []


def test_file_references_are_refused_and_the_file_is_not_read(secret_file: Path) -> None:
    for ref in (secret_file.as_uri(), str(secret_file), "secret.json"):
        schema = {"$id": secret_file.parent.as_uri() + "/", "$ref": ref}
        with pytest.raises(ValidationError, match=r"\$ref .* points outside the schema"):
            build_and_score(schema)
    assert secret_file.stat().st_atime == 0


def test_references_within_the_schema_still_resolve(ref_server: RefServer) -> None:
    schema = {
        "$id": f"{ref_server.url}/root.json",
        "properties": {"age": {"$ref": "#/$defs/age"}},
        "$defs": {"age": {"type": "integer", "minimum": 0}},
    }
    assert build_and_score(schema, '{"age": 3}').passed
    result = build_and_score(schema, '{"age": -1}')
    assert not result.passed and "$.age" in result.reason
    assert ref_server.paths == []


def test_an_undefined_local_reference_fails_the_score_with_a_reason() -> None:
    result = build_and_score({"$ref": "#/$defs/missing"})
    assert not result.passed
    assert result.reason == "schema could not be applied: unresolvable reference '/$defs/missing'"


# stdlib `re` takes seconds on these and ~3x longer per added character.
EVIL = "^(a|aa)+$"
EVIL_TEXT = "a" * 34 + "!"
BOUND_S = 2.5  # the 0.2 s match timeout plus the `regex` package's coarse checking


def timed_score(output: str, schema: object) -> tuple[Score, float]:
    started = time.monotonic()
    result = build_and_score(schema, output)
    return result, time.monotonic() - started


def test_json_schema_patterns_are_bounded_too() -> None:
    schema = {"type": "string", "pattern": EVIL}
    result, took = timed_score(json.dumps(EVIL_TEXT), schema)
    assert took < BOUND_S and not result.passed
    assert result.reason.startswith("schema could not be applied: regex")


def test_json_schema_property_patterns_are_bounded_too() -> None:
    schema = {"patternProperties": {EVIL: {}}, "additionalProperties": False}
    result, took = timed_score(json.dumps({EVIL_TEXT: 1}), schema)
    assert took < BOUND_S and not result.passed and "gave up" in result.reason


def test_property_patterns_still_match() -> None:
    schema = {"patternProperties": {"^x": {"type": "integer"}}, "additionalProperties": False}
    assert timed_score('{"x1": 1}', schema)[0].passed
    result = timed_score('{"x1": 1, "y": 2}', schema)[0]
    assert not result.passed and "'y' does not match any of the regexes: '^x'" in result.reason


def test_oversized_schema_patterns_are_refused_before_compiling() -> None:
    with pytest.raises(ValidationError, match="expands to more than 10000 elements"):
        build_scorer(ScorerSpec("json-schema", {"schema": {"pattern": "(?:a{1000}){1000}"}}))


def test_unevaluated_properties_with_pattern_properties_is_refused() -> None:
    schema = {"patternProperties": {"^x": {}}, "unevaluatedProperties": False}
    with pytest.raises(ValidationError, match="unevaluatedProperties cannot be combined"):
        build_scorer(ScorerSpec("json-schema", {"schema": schema}))
