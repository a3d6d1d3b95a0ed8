import pytest

from domain.errors import ValidationError
from domain.scoring import PureScorer, Score, ScoreContext, ScorerSpec, build_scorer
from domain.scoring.formats import MAX_FORMAT_CHARS


def score(type_: str, output: str, **args: object) -> Score:
    scorer = build_scorer(ScorerSpec(type_, args))
    assert isinstance(scorer, PureScorer)
    return scorer.score(ScoreContext(output=output))


# contains-json


def test_contains_json_finds_an_object_inside_chatter():
    result = score("contains-json", 'Sure! Here it is:\n```json\n{"city": "Paris"}\n```')
    assert (result.value, result.passed, result.reason) == (
        1.0,
        True,
        "output contains a JSON object",
    )


def test_contains_json_accepts_a_bare_array():
    assert score("contains-json", "[1, 2]").reason == "output contains a JSON array"


@pytest.mark.parametrize("output", ["no json here", "42", '"just a string"', "{broken: 1}"])
def test_contains_json_needs_an_object_or_array(output):
    result = score("contains-json", output)
    assert not result.passed and result.reason == "output contains no JSON object or array"


def test_contains_json_fails_json_nested_too_deeply_instead_of_raising():
    assert not score("contains-json", "[" * 100_000).passed


def test_contains_json_checks_the_schema_when_given():
    schema = {"type": "object", "required": ["city"]}
    assert score("contains-json", 'ok: {"city": "Paris"}', schema=schema).passed
    result = score("contains-json", 'ok: {"town": "Paris"}', schema=schema)
    assert not result.passed
    assert result.reason == "output does not match the schema at $: 'city' is a required property"


def test_contains_json_refuses_a_bad_schema_at_build_time():
    with pytest.raises(ValidationError, match="'schema' is not a valid JSON Schema"):
        build_scorer(ScorerSpec("contains-json", {"schema": {"type": 12}}))
    with pytest.raises(ValidationError, match="points outside the schema"):
        build_scorer(ScorerSpec("contains-json", {"schema": {"$ref": "http://x.test/s.json"}}))


# is-xml


def test_is_xml_accepts_well_formed_xml():
    result = score("is-xml", "<?xml version='1.0'?>\n<answer><city>Paris</city></answer>")
    assert result.passed and result.reason == "output is well-formed XML (root <answer>)"


@pytest.mark.parametrize(
    ("output", "error"),
    [
        ("<a><b></a>", "mismatched tag"),
        ("<a/><b/>", "junk after document element"),
        ("plain text", "syntax error"),
        ("", "no element found"),
    ],
)
def test_is_xml_fails_malformed_xml_saying_why(output, error):
    result = score("is-xml", output)
    assert (result.value, result.passed) == (0.0, False)
    assert result.reason.startswith("output is not well-formed XML: ") and error in result.reason


def test_is_xml_refuses_entity_declarations():
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    result = score("is-xml", bomb)
    assert not result.passed and "declares entities" in result.reason


def test_is_xml_extracts_from_chatter_and_code_fences_only_when_asked():
    fenced = "Here you go:\n```xml\n<a><b/></a>\n```\nAnything else?"
    chatty = "Sure, <a><b>1 > 0</b></a> hope that helps"
    assert not score("is-xml", fenced).passed
    assert score("is-xml", fenced, extract=True).passed
    assert score("is-xml", chatty, extract=True).passed


def test_is_xml_required_elements_are_dotted_paths_from_the_root():
    xml = "<analysis><classification>spam</classification><reason/></analysis>"
    paths = ["analysis.classification", "analysis.reason"]
    assert score("is-xml", xml, required_elements=paths).passed
    result = score("is-xml", xml, required_elements=[*paths, "analysis.score", "other"])
    assert (result.value, result.passed) == (0.5, False)
    assert result.reason == "XML lacks required element(s) ['analysis.score', 'other']"


def test_is_xml_paths_ignore_namespaces():
    xml = "<ns:a xmlns:ns='urn:x'><ns:b/></ns:a>"
    assert score("is-xml", xml, required_elements=["a.b"]).passed


@pytest.mark.parametrize("bad", [[], ["a..b"], "a.b", [1]])
def test_is_xml_refuses_bad_required_elements(bad):
    with pytest.raises(ValidationError, match="'required_elements'"):
        build_scorer(ScorerSpec("is-xml", {"required_elements": bad}))


def test_is_xml_refuses_an_oversized_output_unparsed():
    result = score("is-xml", "<a>" + "x" * MAX_FORMAT_CHARS + "</a>")
    assert not result.passed and "over the 100,000 this scorer parses" in result.reason


# is-sql


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT name FROM users WHERE id = 1",
        "select 1; select 2",
        "WITH recent AS (SELECT * FROM orders) SELECT count(*) FROM recent",
        "INSERT INTO t (a) VALUES (1)",
    ],
)
def test_is_sql_accepts_statements(sql):
    assert score("is-sql", sql).passed


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT FROM", "Expected table name but got the end"),
        ("SELECT * FROM t WHERE", "line 1, column 21"),
        ("SELECT 'unterminated", "Error tokenizing"),
        ("hello world", "is not a statement"),
        ("", "holds no statement"),
        ("SELECT " + "(" * 3000 + "1" + ")" * 3000, "nests too deeply"),
    ],
)
def test_is_sql_fails_what_does_not_parse_saying_why(sql, why):
    result = score("is-sql", sql)
    assert (result.value, result.passed) == (0.0, False)
    assert result.reason.startswith("output is not SQL: ") and why in result.reason


def test_is_sql_dialect_decides_what_parses():
    assert score("is-sql", "SHOW TABLES", dialect="mysql").passed
    assert "could not parse" in score("is-sql", "SHOW TABLES").reason


def test_is_sql_allowed_statements_catch_writes_nested_in_a_cte():
    only_select = {"allowed_statements": ["select"], "dialect": "postgres"}
    assert score("is-sql", "SELECT 1 UNION SELECT 2", **only_select).passed
    result = score("is-sql", "SELECT 1; DROP TABLE users", **only_select)
    assert result.reason == "SQL uses statement kind(s) not allowed: ['DROP']"
    sneaky = "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"
    assert score("is-sql", sneaky, **only_select).reason.endswith("['DELETE']")


def test_is_sql_allowed_tables_ignore_cte_names_and_case():
    allowed = {"allowed_tables": ["Users"]}
    assert score("is-sql", "WITH u AS (SELECT * FROM users) SELECT * FROM u", **allowed).passed
    assert score("is-sql", "SELECT * FROM public.USERS", **allowed).passed
    result = score("is-sql", "SELECT * FROM users JOIN secrets ON true", **allowed)
    assert result.reason == "SQL names table(s) not allowed: ['secrets']"


def test_is_sql_qualified_allowed_table_allows_only_that_schema():
    allowed = {"allowed_tables": ["app.users"]}
    assert score("is-sql", "SELECT * FROM app.users", **allowed).passed
    assert score("is-sql", "SELECT * FROM users", **allowed).passed
    assert not score("is-sql", "SELECT * FROM other.users", **allowed).passed


def test_is_sql_refuses_an_oversized_output_unparsed():
    sql = "SELECT " + ", ".join(["a"] * (MAX_FORMAT_CHARS // 3)) + " FROM t"
    result = score("is-sql", sql)
    assert (
        result.reason == f"output has {len(sql):,} characters, over the 100,000 this scorer parses"
    )


def test_is_sql_output_at_the_limit_is_parsed():
    sql = "SELECT 1" + " " * (MAX_FORMAT_CHARS - len("SELECT 1"))
    assert score("is-sql", sql).passed


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"dialect": "nosuch"}, "'dialect' is not a sqlglot dialect"),
        ({"allowed_statements": ["SELECT", "EXPLODE"]}, "unknown kind"),
        ({"allowed_tables": []}, "'allowed_tables' must be a non-empty list"),
        ({"tables": ["x"]}, "unknown argument"),
    ],
)
def test_is_sql_refuses_bad_arguments(args, field):
    with pytest.raises(ValidationError, match=field):
        build_scorer(ScorerSpec("is-sql", args))
