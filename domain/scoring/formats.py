"""Format scorers: the output contains JSON, is well-formed XML, parses as SQL.

XML is parsed with defusedxml (entity declarations refused, nothing fetched) and SQL with
sqlglot; both refuse outputs over `MAX_FORMAT_CHARS` before parsing anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

from domain.scoring._common import BaseScorer, ScorerArgs, clip
from domain.scoring.base import Score, ScoreContext, register_scorer
from domain.scoring.listing import ScorerArgument
from domain.scoring.structured import apply_schema, find_json, schema_validator

MAX_FORMAT_CHARS = 100_000
"""Longest output `is-xml` and `is-sql` parse; a longer one fails without being parsed."""

_FENCE = re.compile(r"```[\w+-]*[ \t]*\n(.*?)```", re.DOTALL)
_OPEN_TAG = re.compile(r"<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)[\s/>]")
_TRIED_TAGS = 10  # each try parses to the end: bounded so chatter full of '<' stays linear


def _too_long(scorer: BaseScorer, output: str) -> Score | None:
    if len(output) > MAX_FORMAT_CHARS:
        return scorer.fail(
            f"output has {len(output):,} characters, over the {MAX_FORMAT_CHARS:,} this "
            "scorer parses"
        )
    return None


@register_scorer("contains-json")
class ContainsJson(BaseScorer):
    """The output contains a JSON object or array somewhere (chatter and code fences allowed).

    Args (in the spec): ``schema`` (optional JSON Schema, as for ``json-schema``), which the
    first JSON object or array found must match.
    """

    arguments = (ScorerArgument("schema", "JSON Schema", "schema the JSON found must match"),)

    def configure(self, args: ScorerArgs) -> None:
        self.validator: Any = None
        if "schema" in self.spec.args:
            self.validator = schema_validator(args, args.raw("schema"))

    def score(self, ctx: ScoreContext) -> Score:
        found, value, _ = find_json(ctx.output, extract=True)
        if not found or not isinstance(value, dict | list):
            return self.result(0.0, "output contains no JSON object or array")
        if self.validator is None:
            return self.result(1.0, f"output contains a JSON {_kind(value)}")
        return apply_schema(self, self.validator, value)


def _kind(value: dict[str, Any] | list[Any]) -> str:
    return "object" if isinstance(value, dict) else "array"


def _xml_candidates(text: str) -> Iterator[str]:
    yield text
    for fenced in _FENCE.finditer(text):
        yield fenced.group(1)
    for match in islice(_OPEN_TAG.finditer(text), _TRIED_TAGS):
        start, name = match.start(), match.group(1)
        end = text.rfind(f"</{name}>")
        if end > start:
            yield text[start : end + len(name) + 3]
        else:
            close = text.find("/>", start)
            if close > 0:
                yield text[start : close + 2]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _has_path(root: Any, path: str) -> bool:
    first, *rest = path.split(".")
    level = [root] if _local(root.tag) == first else []
    for name in rest:
        level = [child for element in level for child in element if _local(child.tag) == name]
    return bool(level)


@register_scorer("is-xml")
class IsXml(BaseScorer):
    """The output is well-formed XML (one root element; entity declarations refused).

    Args (in the spec): ``required_elements`` (optional list of dotted element paths from the
    root, e.g. ``"answer.reason"``; namespaces ignored), ``extract`` (default false: find the
    XML inside chatter or a code fence). The value is 1 when well-formed with every required
    element, else the fraction of required elements present (0 when not XML).
    """

    arguments = (
        ScorerArgument("required_elements", "string list", "dotted paths that must exist"),
        ScorerArgument("extract", "boolean", "find the XML inside the output", default=False),
    )

    def configure(self, args: ScorerArgs) -> None:
        self.required = args.optional_text_list("required_elements") or []
        for path in self.required:
            if not all(path.split(".")):
                raise args.error("required_elements", f"has an empty step in {path!r}")
        self.extract = args.flag("extract", False)

    def _parse(self, text: str) -> tuple[Any, str]:
        import defusedxml
        from defusedxml import ElementTree

        error = ""
        candidates = _xml_candidates(text.strip()) if self.extract else iter([text.strip()])
        for candidate in candidates:
            try:
                return ElementTree.fromstring(candidate), ""
            except ElementTree.ParseError as exc:
                error = error or str(exc)
            except defusedxml.DefusedXmlException as exc:
                return None, f"it declares entities or external references ({exc})"
        return None, error

    def score(self, ctx: ScoreContext) -> Score:
        refused = _too_long(self, ctx.output)
        if refused is not None:
            return refused
        root, error = self._parse(ctx.output)
        if root is None:
            return self.result(0.0, f"output is not well-formed XML: {error}")
        missing = [path for path in self.required if not _has_path(root, path)]
        if missing:
            found = len(self.required) - len(missing)
            return self.result(
                found / len(self.required), f"XML lacks required element(s) {missing!r}"
            )
        extra = f" with all {len(self.required)} required elements" if self.required else ""
        return self.result(1.0, f"output is well-formed XML (root <{_local(root.tag)}>){extra}")


# Every statement kind a listing may allow; a query (SELECT, UNION, VALUES...) is "SELECT".
SQL_STATEMENTS = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "CREATE", "DROP", "ALTER",
    "TRUNCATE", "GRANT", "REVOKE", "TRANSACTION", "COMMIT", "ROLLBACK", "USE", "SET",
    "DESCRIBE", "SHOW", "PRAGMA", "ANALYZE",
)  # fmt: skip


_TOKEN = re.compile(r"<Token token_type: [\w.]+, text: ([^,]*),[^>]*>")


def _token_text(match: re.Match[str]) -> str:
    return "the end" if match.group(1) == "SENTINEL" else repr(match.group(1))


def _statement_kind(node: Any) -> str | None:
    from sqlglot import exp

    if isinstance(node, exp.Query | exp.Values):
        return "SELECT"
    if isinstance(node, exp.TruncateTable):
        return "TRUNCATE"
    kind = str(node.key).upper()
    return kind if kind in SQL_STATEMENTS else None


def _writes(statement: Any) -> set[str]:
    """Statement kinds nested anywhere (``WITH d AS (DELETE ...) SELECT``), queries aside."""
    from sqlglot import exp

    writing = (exp.DML, exp.Create, exp.Drop, exp.Alter, exp.TruncateTable, exp.Grant, exp.Revoke)
    return {str(_statement_kind(n)) for n in statement.walk() if isinstance(n, writing)}


def _tables(statement: Any) -> set[str]:
    from sqlglot import exp

    ctes = {cte.alias_or_name.casefold() for cte in statement.find_all(exp.CTE)}
    names = set()
    for table in statement.find_all(exp.Table):
        if table.name and table.name.casefold() not in ctes:
            parts = (table.catalog, table.db, table.name)
            names.add(".".join(p for p in parts if p).casefold())
    return names


@register_scorer("is-sql")
class IsSql(BaseScorer):
    """The output parses as SQL statements (sqlglot), optionally only of allowed kinds.

    Args (in the spec): ``dialect`` (optional sqlglot dialect, e.g. ``"postgres"``; default
    its generic one), ``allowed_statements`` (optional list among ``SELECT``, ``INSERT``,
    ``UPDATE``, ``DELETE``, ``CREATE``, ``DROP``...; statements nested in a CTE count),
    ``allowed_tables`` (optional list of table names, ``name`` or ``schema.name``; a bare name
    allows it in any schema, CTE names are always allowed). A bare expression (``hello``) or
    a statement sqlglot can only keep as an opaque command is not SQL here. Outputs over
    100,000 characters fail unparsed.
    """

    arguments = (
        ScorerArgument("dialect", "string", "sqlglot dialect (e.g. postgres, mysql)"),
        ScorerArgument("allowed_statements", "string list", "statement kinds allowed"),
        ScorerArgument("allowed_tables", "string list", "tables the SQL may name"),
    )

    def configure(self, args: ScorerArgs) -> None:
        from sqlglot.dialects.dialect import Dialect

        self.dialect = args.text("dialect", required=False, non_empty=True) or ""
        try:
            Dialect.get_or_raise(self.dialect)
        except ValueError:
            known = ", ".join(sorted(d for d in Dialect.classes if d))
            raise args.error("dialect", f"is not a sqlglot dialect (known: {known})") from None
        statements = args.optional_text_list("allowed_statements")
        self.allowed_statements = None if statements is None else {s.upper() for s in statements}
        unknown = sorted((self.allowed_statements or set()) - set(SQL_STATEMENTS))
        if unknown:
            raise args.error(
                "allowed_statements",
                f"has unknown kind(s) {unknown!r} (known: {', '.join(SQL_STATEMENTS)})",
            )
        tables = args.optional_text_list("allowed_tables")
        self.allowed_tables = None if tables is None else {t.casefold() for t in tables}

    def _parse(self, text: str) -> tuple[list[Any], str]:
        import sqlglot
        from sqlglot.errors import ParseError, SqlglotError

        try:
            parsed = sqlglot.parse(text, read=self.dialect or None)
        except ParseError as exc:
            first = exc.errors[0] if exc.errors else {}
            where = f" at line {first['line']}, column {first['col']}" if "line" in first else ""
            described = _TOKEN.sub(_token_text, str(first.get("description") or exc))
            return [], described[:120] + where
        except SqlglotError as exc:
            return [], str(exc).splitlines()[0][:120]
        except RecursionError:
            return [], "it nests too deeply to parse"
        statements = [s for s in parsed if s is not None]
        if not statements:
            return [], "it holds no statement"
        for statement in statements:
            if statement.key == "command":
                return [], f"sqlglot could not parse {clip(statement.sql(), 40)}"
            if _statement_kind(statement) is None:
                return [], (
                    f"{clip(statement.sql(), 40)} is not a statement "
                    f"(sqlglot read it as {type(statement).__name__})"
                )
        return statements, ""

    def score(self, ctx: ScoreContext) -> Score:
        refused = _too_long(self, ctx.output)
        if refused is not None:
            return refused
        statements, error = self._parse(ctx.output)
        if not statements:
            return self.result(0.0, f"output is not SQL: {error}")
        if self.allowed_statements is not None:
            kinds = {str(_statement_kind(s)) for s in statements}.union(*map(_writes, statements))
            refused_kinds = sorted(kinds - self.allowed_statements)
            if refused_kinds:
                return self.result(0.0, f"SQL uses statement kind(s) not allowed: {refused_kinds}")
        if self.allowed_tables is not None:
            named = set().union(*map(_tables, statements))
            others = sorted(t for t in named if not self._table_allowed(t))
            if others:
                return self.result(0.0, f"SQL names table(s) not allowed: {others}")
        count = len(statements)
        return self.result(1.0, f"output parses as SQL ({count} statement{'s' * (count > 1)})")

    def _table_allowed(self, table: str) -> bool:
        allowed = self.allowed_tables or set()
        bare = table.rsplit(".", 1)[-1]
        if table in allowed or bare in allowed:  # a bare allowed name: in any schema
            return True
        return "." not in table and bare in {a.rsplit(".", 1)[-1] for a in allowed}
