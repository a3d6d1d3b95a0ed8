"""The playground for notebooks, the CLI and the API: try one prompt version on given
variables across several models, watch the answers stream in, keep every turn, save a
turn's answer as a test case, commit an edited template and keep going on it.

Calls take their permits where the engine's runs do (`engine.sdk.hosting.call_gateways`),
so a playground turn counts against the same provider limits as the runs in flight.
"""

from __future__ import annotations

import asyncio
import builtins
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from domain.errors import ValidationError
from domain.llm import check_generation_params
from domain.playground import (
    PlaygroundSession,
    Turn,
    case_from_turn,
    check_models,
    check_variables,
)
from engine.evaluation.context import account_keys, with_keys
from engine.evaluation.corrections import add_to_dataset
from engine.evaluation.datasets import VersionInfo
from engine.llm.gateways import LinkFactory
from engine.playground.store import PlaygroundStore
from engine.playground.turns import Listener, announce_done, params_of, work_turn
from engine.prompts.models import PromptVersion
from engine.sdk.hosting import call_gateways

TokenCallback = Callable[[str, str | None], None]
"""``on_token(model, text)``: each piece of a model's answer (``None``: it starts afresh)."""


class Playground:
    """One playground session (get it from `Engine.playground` or `Engine.playgrounds`).

    Examples:
        >>> pg = engine.playground("qa", models=["openai/sim-small", "openai/sim-large"])
        >>> turn = pg.run({"q": "What is 2+2?"}, on_token=lambda m, t: print(t or "", end=""))
        >>> pg.save_case(turn, "openai/sim-large", "qa-cases")            # doctest: +SKIP
    """

    def __init__(self, service: Playgrounds, session_id: str) -> None:
        self._service = service
        self.id = session_id

    @property
    def info(self) -> PlaygroundSession:
        """The session as stored now (its models, the version its turns follow)."""
        return self._service.store.get(self._service.owner, self.id)

    def run(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        on_token: TokenCallback | None = None,
        cache: bool = False,
        api_keys: Mapping[str, str] | None = None,
    ) -> Turn:
        """Run a turn and return it when every model has answered.

        Args:
            variables: The template's variables for this turn.
            on_token: Hears each piece of each model's answer as it arrives.
            cache: Answer from (and fill) the response cache; off by default, since a
                playground is where you want a fresh answer.
            api_keys: Provider → key (e.g. the workspace's stored keys), used for the
                accounts that need one before the environment's, as runs use them.

        Raises:
            ValidationError: bad variables.
            ConflictError: ``reason="turn-running"``: a turn of this session is running.
        """
        turn = self._service.begin(self.id, variables or {})
        return self._service.work(self.id, turn, listener=on_token, cache=cache, api_keys=api_keys)

    def start(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        cache: bool = False,
        api_keys: Mapping[str, str] | None = None,
    ) -> Turn:
        """Start a turn in the background and return it (``running``) at once; follow it on
        the session's event stream (``/v1/streams/playground/{id}/events``) or `turn`.
        ``api_keys`` as for `run`."""
        turn = self._service.begin(self.id, variables or {})
        thread = threading.Thread(
            target=self._service.work,
            args=(self.id, turn),
            kwargs={"cache": cache, "api_keys": api_keys},
            name=f"playground-{self.id}-{turn.number}",
            daemon=True,
        )
        thread.start()
        return turn

    def turn(self, number: int) -> Turn:
        """Turn ``number`` (from 1) as stored now."""
        return self._service.store.turn(self._service.owner, self.id, number)

    def history(self) -> list[Turn]:
        """Every turn of the session, oldest first."""
        return self._service.store.turns(self._service.owner, self.id)

    def save_case(
        self,
        turn: Turn | int,
        model: str,
        dataset: str,
        *,
        expected: str | None = None,
        case_id: str = "",
    ) -> VersionInfo:
        """Add a turn as a test case to ``dataset`` (created when missing) as its next
        version: the turn's variables, and ``model``'s answer (or your ``expected``, e.g. a
        corrected answer) as the expected output, with provenance in its metadata.

        Raises:
            NotFoundError: no such turn, or no answer from ``model`` in it.
            ValidationError: the turn is running, or the model failed and no ``expected``.
        """
        number = turn.number if isinstance(turn, Turn) else turn
        stored = self.turn(number)
        owner, user = self._service.owner, self._service.user
        case = case_from_turn(stored, model, expected=expected, saved_by=user, case_id=case_id)
        note = f"playground {self.id} turn {number} ({model})"
        return add_to_dataset(self._service.engine.datasets.store, owner, dataset, [case], note)

    def commit(
        self,
        template: Any = None,
        *,
        system: str | None = None,
        message: str = "",
        branch: str = "main",
    ) -> PromptVersion:
        """Commit an edited template (or system message) to the session's prompt on
        ``branch``; the session's next turns use the new version."""
        session = self.info
        prompts = self._service.engine.prompts
        version: PromptVersion = prompts.commit(
            session.prompt_id,
            template,
            system=system,
            message=message or f"from playground {self.id}",
            branch=branch,
        )
        self._service.store.follow(self._service.owner, self.id, version.id)
        return version


class Playgrounds:
    """Playground sessions of one owner."""

    def __init__(self, engine: Any) -> None:
        """``engine``: the owner's `Engine` (its prompts, datasets, catalogue, runtime)."""
        self.engine = engine
        self.owner: str = engine.owner
        self.user: str = engine.user
        """Who acts: authors turns and saved cases (the owner is the workspace)."""
        self.store = PlaygroundStore(engine.runtime.db)

    def create(
        self,
        prompt: str,
        models: Sequence[str],
        *,
        version: str = "main",
        params: Mapping[str, Any] | None = None,
    ) -> Playground:
        """A new session trying ``prompt`` at ``version`` (a branch, label, ``v3`` or id)
        on ``models``.

        Raises:
            NotFoundError: no such prompt or version.
            ValidationError: bad models (1 to 8, each once, in the catalogue) or params.
        """
        chosen = check_models(models)
        known = {m.name for m in self.engine.catalogue.models}
        unknown = [m for m in chosen if m not in known]
        if unknown:
            raise ValidationError(
                f"unknown model {unknown[0]!r}: not in the catalogue",
                reason="unknown-model",
                model=unknown[0],
            )
        check_generation_params(dict(params or {}), "params")
        found = self.engine.prompts.show(prompt, version)
        session = self.store.create(
            self.owner,
            prompt_id=found.prompt_id,
            prompt_version=found.id,
            models=chosen,
            params=dict(params or {}),
            created_by=self.user,
        )
        return Playground(self, session.id)

    def get(self, session_id: str) -> Playground:
        """Raises: NotFoundError: no such session of this owner."""
        self.store.get(self.owner, session_id)
        return Playground(self, session_id)

    def list(self, limit: int = 50, after: str | None = None) -> builtins.list[PlaygroundSession]:
        """Sessions, newest first."""
        return self.store.list(self.owner, limit=limit, after=after)

    def begin(self, session_id: str, variables: Mapping[str, Any]) -> Turn:
        return self.store.start_turn(self.owner, session_id, check_variables(variables), self.user)

    def work(
        self,
        session_id: str,
        turn: Turn,
        *,
        listener: Listener | None = None,
        cache: bool = False,
        api_keys: Mapping[str, str] | None = None,
    ) -> Turn:
        """Ask every model, record the answers (whatever happens) and return the turn."""
        from domain.playground import Answer

        session = self.store.get(self.owner, session_id)
        answers: list[Answer] = [
            Answer(model=m, error="internal: the turn did not finish") for m in session.models
        ]
        try:
            version = self.engine.prompts.show(session.prompt_id, turn.prompt_version)
            params = params_of(version.settings.as_params(), session.params)
            links, call_on = call_gateways(self.engine)
            env = with_keys(account_keys(self.engine.catalogue, api_keys or {}))
            work = self._ask(session, turn, version, params, links, listener, cache, env)
            answers = call_on(work) if call_on is not None else asyncio.run(work)
        finally:
            self.store.finish_turn(session_id, turn.number, answers)
            announce_done(self.engine.runtime.redis, turn)
        return self.store.turn(self.owner, session_id, turn.number)

    async def _ask(
        self,
        session: PlaygroundSession,
        turn: Turn,
        version: PromptVersion,
        params: Mapping[str, Any],
        links: LinkFactory,
        listener: Listener | None,
        cache: bool,
        env: Mapping[str, str] | None,
    ) -> Any:
        from engine.llm import LLMClient
        from engine.redis_client import async_redis

        url = self.engine.runtime.redis_url
        client = LLMClient(self.engine.catalogue, redis_url=url, links=links, env=env)
        redis = async_redis(url)
        try:
            return await work_turn(
                client,
                redis,
                session,
                turn,
                version.template,
                params,
                cache=cache,
                listener=listener,
            )
        finally:
            await client.aclose()
            await redis.aclose()
