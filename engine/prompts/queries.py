"""The read side: queries answered from the projections, never from the actors.

Every query filters by the owner. Versions are immutable, so rows already turned into
:class:`PromptVersion` are kept in a small LRU: a head read is then one indexed lookup of the
moving part (the ``prompts.head`` pointer) plus a cache hit.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Integer, Row, String, and_, literal, or_, select

from domain.errors import NotFoundError, ValidationError
from domain.prompts import ModelSettings, Template, VersionDiff, diff_versions, parse_time
from domain.prompts.refs import (
    Ref,
    ambiguous_prefix,
    could_be_prefix,
    parse_ref,
    past_the_first_version,
    unknown_ref,
    version_name,
)
from domain.prompts.state import DEFAULT_BRANCH
from engine.prompts.lru import LRU
from engine.prompts.models import PromptInfo, PromptVersion
from engine.prompts.tables import prompt_refs, prompt_tags, prompt_versions, prompts

MAX_PAGE = 1000


class PromptQueries:
    """Reads of one owner's prompts. Thread-safe.

    Args:
        db: A sync SQLAlchemy engine on a migrated database.
        owner: Whose prompts are visible.
        cache_size: How many versions to keep parsed in memory.
    """

    def __init__(self, db: Engine, owner: str, *, cache_size: int = 4096) -> None:
        self._db = db
        self.owner = owner
        self._versions: LRU[tuple[str, str], PromptVersion] = LRU(cache_size)

    def prompt_id(self, prompt: str) -> str:
        """The id of the prompt named ``prompt`` (a name, else an id)."""
        with self._db.connect() as conn:
            return str(self._locate(conn, prompt).id)

    def get(self, prompt: str) -> PromptInfo:
        """The details and refs of a prompt."""
        with self._db.connect() as conn:
            row = self._locate(conn, prompt, details=True)
            return self._infos(conn, [row])[0]

    def head(self, prompt: str, branch: str = DEFAULT_BRANCH) -> PromptVersion:
        """The head version of ``branch``; ``main`` is read from the prompt row directly."""
        with self._db.connect() as conn:
            row = self._locate(conn, prompt)
            if branch == DEFAULT_BRANCH:
                return self._version(conn, row.id, row.head)
            version = self._ref(conn, row.id, branch, "branch")
            if version is None:
                raise NotFoundError(
                    f"branch {branch!r} not found", reason="unknown-branch", branch=branch
                )
            return self._version(conn, row.id, version)

    def show(self, prompt: str, ref: str = DEFAULT_BRANCH) -> PromptVersion:
        """The version ``ref`` names: a branch, label, ``v3``, version id or id prefix (≥ 7),
        optionally followed by ``~N`` (``main~1`` is the parent of main's head)."""
        with self._db.connect() as conn:
            prompt_id = self._locate(conn, prompt).id
            return self._version(conn, prompt_id, self._resolve(conn, prompt_id, ref))

    def version_names(self, prompt: str, version_ids: Iterable[str]) -> dict[str, str]:
        """How a person names each version: ``v3 (production)``; unknown ids are left out."""
        wanted = list(dict.fromkeys(version_ids))
        v, r = prompt_versions.c, prompt_refs.c
        with self._db.connect() as conn:
            prompt_id = self._locate(conn, prompt).id
            numbers = conn.execute(
                select(v.id, v.number).where(
                    and_(v.prompt_id == prompt_id, v.owner == self.owner, v.id.in_(wanted))
                )
            ).all()
            labels = conn.execute(
                select(r.version_id, r.name).where(
                    and_(r.prompt_id == prompt_id, r.owner == self.owner, r.kind == "label")
                )
            ).all()
        on: dict[str, list[str]] = defaultdict(list)
        for version, label in labels:
            on[version].append(label)
        return {version: version_name(number, on[version]) for version, number in numbers}

    def log(
        self,
        prompt: str,
        ref: str = DEFAULT_BRANCH,
        *,
        limit: int = 50,
        offset: int = 0,
        before: str | None = None,
    ) -> list[PromptVersion]:
        """A page of the first-parent history from ``ref``, newest first."""
        if not (0 <= limit <= MAX_PAGE and offset >= 0):
            raise ValidationError(
                f"limit must be 0..{MAX_PAGE} and offset not negative", reason="invalid-page"
            )
        with self._db.connect() as conn:
            prompt_id = self._locate(conn, prompt).id
            start = self._resolve(conn, prompt_id, ref)
            if before is not None:
                self._check_on_chain(conn, prompt_id, start, before, ref)
                start, offset = before, offset + 1
            rows = self._chain(conn, prompt_id, start, offset, limit)
            return [self._cached_or_parsed(row) for row in rows]

    def diff(self, prompt: str, old: str, new: str, *, context: int = 3) -> VersionDiff:
        """How ref ``new`` differs from ref ``old``."""
        with self._db.connect() as conn:
            prompt_id = self._locate(conn, prompt).id
            versions = [
                self._version(conn, prompt_id, self._resolve(conn, prompt_id, ref))
                for ref in (old, new)
            ]
        return diff_versions(versions[0].to_commit(), versions[1].to_commit(), context=context)

    def search(
        self,
        text: str = "",
        *,
        tag: str | None = None,
        include_archived: bool = False,
        limit: int = 50,
        after: str | None = None,
    ) -> list[PromptInfo]:
        """Prompts ordered by name, whose name contains ``text`` (ASCII case-insensitive) and
        that have ``tag``; ``after`` is a name cursor."""
        if not 0 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit must be 0..{MAX_PAGE}", reason="invalid-page")
        p = prompts.c
        query = select(prompts).where(p.owner == self.owner).order_by(p.name).limit(limit)
        if text:
            query = query.where(p.name.contains(text, autoescape=True))
        if tag is not None:
            t = prompt_tags.c
            tagged = select(t.prompt_id).where(and_(t.owner == self.owner, t.tag == tag))
            query = query.where(p.id.in_(tagged))
        if not include_archived:
            query = query.where(p.archived.is_(False))
        if after is not None:
            query = query.where(p.name > after)
        with self._db.connect() as conn:
            return self._infos(conn, conn.execute(query).all())

    def _locate(self, conn: Connection, prompt: str, *, details: bool = False) -> Row[Any]:
        p = prompts.c
        columns = prompts.columns if details else (p.id, p.head)
        row = conn.execute(
            select(*columns)
            .where(and_(p.owner == self.owner, or_(p.name == prompt, p.id == prompt)))
            .order_by((p.name == prompt).desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFoundError(
                f"prompt {prompt!r} not found", reason="unknown-prompt", prompt=prompt
            )
        return row

    def _ref(self, conn: Connection, prompt_id: str, name: str, kind: str | None) -> str | None:
        r = prompt_refs.c
        query = select(r.version_id).where(
            and_(r.prompt_id == prompt_id, r.owner == self.owner, r.name == name)
        )
        if kind is not None:
            query = query.where(r.kind == kind)
        return conn.execute(query.order_by(r.kind).limit(1)).scalar()

    def _resolve(self, conn: Connection, prompt_id: str, ref: str) -> str:
        """Like ``PromptState.resolve``: a version id, a branch, a label, ``vN``, an id
        prefix, then ``~N`` first parents back."""
        v = prompt_versions.c
        mine = and_(v.prompt_id == prompt_id, v.owner == self.owner)
        if len(ref) == 64 and conn.execute(select(v.id).where(mine, v.id == ref)).first():
            return ref
        parsed = parse_ref(ref)
        version = self._resolve_base(conn, prompt_id, parsed)
        if parsed.back == 0:
            return version
        chain = self._chain(conn, prompt_id, version, 0, parsed.back + 1)
        if len(chain) <= parsed.back:
            raise past_the_first_version(parsed, len(chain) - 1)
        return str(chain[parsed.back].id)

    def _resolve_base(self, conn: Connection, prompt_id: str, ref: Ref) -> str:
        v = prompt_versions.c
        mine = and_(v.prompt_id == prompt_id, v.owner == self.owner)
        base = ref.base
        if len(base) == 64 and conn.execute(select(v.id).where(mine, v.id == base)).first():
            return base
        version = self._ref(conn, prompt_id, base, None)
        if version is not None:
            return version
        if ref.number is not None:
            numbered = conn.execute(select(v.id).where(mine, v.number == ref.number)).scalar()
            if numbered is not None:
                return str(numbered)
        if could_be_prefix(base):
            found = conn.execute(select(v.id).where(mine, v.id.startswith(base)).limit(2)).all()
            if len(found) > 1:
                raise ambiguous_prefix(base, [str(row.id) for row in found])
            if found:
                return str(found[0].id)
        raise unknown_ref(ref.text)

    def _walk(self, prompt_id: str, start: str, stop: Any) -> Any:
        """A recursive CTE ``chain(id, depth)`` down the first parents of ``start``."""
        v = prompt_versions.c
        seed = select(literal(start, String).label("id"), literal(0, Integer).label("depth")).cte(
            "chain", recursive=True
        )
        prev = seed.alias("prev")
        step = select(v.first_parent, prev.c.depth + 1).where(
            and_(
                v.prompt_id == prompt_id, v.id == prev.c.id, v.first_parent.is_not(None), stop(prev)
            )
        )
        return seed.union_all(step)

    def _chain(
        self, conn: Connection, prompt_id: str, start: str, skip: int, limit: int
    ) -> Sequence[Row[Any]]:
        if limit == 0:
            return []
        chain = self._walk(prompt_id, start, lambda prev: prev.c.depth < skip + limit - 1)
        v = prompt_versions.c
        query = (
            select(prompt_versions)
            .join(chain, and_(v.prompt_id == prompt_id, v.id == chain.c.id))
            .where(and_(v.owner == self.owner, chain.c.depth >= skip))
            .order_by(chain.c.depth)
        )
        return conn.execute(query).all()

    def _check_on_chain(
        self, conn: Connection, prompt_id: str, start: str, before: str, ref: str
    ) -> None:
        chain = self._walk(prompt_id, start, lambda prev: prev.c.id != before)
        if conn.execute(select(chain.c.depth).where(chain.c.id == before)).first() is None:
            raise NotFoundError(
                f"version {before!r} is not in the log of {ref!r}",
                reason="unknown-cursor",
                before=before,
            )

    def _version(self, conn: Connection, prompt_id: str, version_id: str) -> PromptVersion:
        cached = self._versions.get((prompt_id, version_id))
        if cached is not None:
            return cached
        v = prompt_versions.c
        row = conn.execute(
            select(prompt_versions).where(
                and_(v.prompt_id == prompt_id, v.id == version_id, v.owner == self.owner)
            )
        ).first()
        if row is None:
            raise NotFoundError(
                f"version {version_id!r} not found", reason="unknown-ref", ref=version_id
            )
        return self._cached_or_parsed(row)

    def _cached_or_parsed(self, row: Row[Any]) -> PromptVersion:
        key = (row.prompt_id, row.id)
        version = self._versions.get(key)
        if version is None:
            version = _to_version(row)
            self._versions.put(key, version)
        return version

    def _infos(self, conn: Connection, rows: Iterable[Row[Any]]) -> list[PromptInfo]:
        rows = list(rows)
        refs: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
        if rows:
            r = prompt_refs.c
            found = conn.execute(
                select(r.prompt_id, r.kind, r.name, r.version_id)
                .where(and_(r.owner == self.owner, r.prompt_id.in_([row.id for row in rows])))
                .order_by(r.prompt_id, r.kind, r.name)
            )
            for prompt_id, kind, name, version in found:
                refs[prompt_id][kind][name] = version
        return [_to_info(row, refs[row.id]) for row in rows]


def _to_version(row: Row[Any]) -> PromptVersion:
    return PromptVersion(
        id=row.id,
        prompt_id=row.prompt_id,
        number=row.number,
        parents=tuple(json.loads(row.parents)),
        template=Template.from_dict(json.loads(row.template)),
        settings=ModelSettings.from_dict(json.loads(row.settings)),
        message=row.message,
        author=row.author,
        committed_at=parse_time(row.committed_at),
        content_id=row.content_id,
    )


def _to_info(row: Row[Any], refs: dict[str, dict[str, str]]) -> PromptInfo:
    return PromptInfo(
        id=row.id,
        name=row.name,
        owner=row.owner,
        description=row.description,
        tags=tuple(json.loads(row.tags)),
        archived=bool(row.archived),
        head=row.head,
        version_count=row.version_count,
        seq=row.seq,
        created_at=parse_time(row.created_at),
        created_by=row.created_by,
        updated_at=parse_time(row.updated_at),
        branches=dict(refs.get("branch", {})),
        labels=dict(refs.get("label", {})),
    )
