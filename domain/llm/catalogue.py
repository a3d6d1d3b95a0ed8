"""What a deployment may call: provider accounts, their limits, models and fallback chains."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from domain.errors import NotFoundError
from domain.llm._fields import build, field_error, kind_of, under
from domain.llm.specs import FallbackPolicy, ModelSpec, ProviderAccount, RetryPolicy

__all__ = ["Catalogue", "FallbackPolicy", "ModelSpec", "ProviderAccount", "RetryPolicy"]

T = TypeVar("T")


def _named(kind: str, name: str, index: Mapping[str, T]) -> T:
    if name not in index:
        raise NotFoundError(f"unknown {kind} {name!r} (known: {', '.join(index)})", name=name)
    return index[name]


def _index_accounts(accounts: tuple[ProviderAccount, ...]) -> dict[str, ProviderAccount]:
    index: dict[str, ProviderAccount] = {}
    for i, account in enumerate(accounts):
        if account.name in index:
            raise field_error(f"accounts[{i}].name", f"duplicate account {account.name!r}")
        index[account.name] = account
    return index


def _index_models(
    models: tuple[ModelSpec, ...], accounts: Mapping[str, ProviderAccount]
) -> dict[str, ModelSpec]:
    index: dict[str, ModelSpec] = {}
    for i, spec in enumerate(models):
        if spec.name in index:
            raise field_error(f"models[{i}].name", f"duplicate model {spec.name!r}")
        account = accounts.get(spec.account)
        if account is None:
            known = ", ".join(accounts) or "none"
            raise field_error(
                f"models[{i}].account", f"unknown account {spec.account!r} (known: {known})"
            )
        if spec.provider != account.provider:
            raise field_error(
                f"models[{i}].name",
                f"provider prefix {spec.provider!r} differs from account "
                f"{account.name!r} provider {account.provider!r}",
            )
        index[spec.name] = spec
    return index


def _index_fallbacks(
    fallbacks: tuple[FallbackPolicy, ...], models: Mapping[str, ModelSpec]
) -> dict[str, FallbackPolicy]:
    index: dict[str, FallbackPolicy] = {}
    for i, policy in enumerate(fallbacks):
        for j, name in enumerate(policy.chain):
            if name not in models:
                raise field_error(f"fallbacks[{i}].chain[{j}]", f"unknown model {name!r}")
        if policy.primary in index:
            raise field_error(
                f"fallbacks[{i}].chain[0]", f"second policy for model {policy.primary!r}"
            )
        index[policy.primary] = policy
    return index


@dataclass(frozen=True)
class Catalogue:
    """Accounts, models and fallbacks of one deployment, validated as a whole.

    Examples:
        >>> cat = Catalogue.from_dict({
        ...     "accounts": [{"name": "sim", "provider": "openai", "rpm": 600}],
        ...     "models": [{"name": "openai/sim-small", "account": "sim"}],
        ... })
        >>> cat.account_for("openai/sim-small").rpm
        600
    """

    accounts: tuple[ProviderAccount, ...]
    models: tuple[ModelSpec, ...]
    fallbacks: tuple[FallbackPolicy, ...] = ()
    _accounts: dict[str, ProviderAccount] = field(init=False, repr=False, compare=False)
    _models: dict[str, ModelSpec] = field(init=False, repr=False, compare=False)
    _fallbacks: dict[str, FallbackPolicy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        accounts = _index_accounts(self.accounts)
        models = _index_models(self.models, accounts)
        object.__setattr__(self, "_accounts", accounts)
        object.__setattr__(self, "_models", models)
        object.__setattr__(self, "_fallbacks", _index_fallbacks(self.fallbacks, models))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalogue:
        """Parse and validate a plain document (as loaded from YAML or JSON).

        Raises:
            ValidationError: naming the exact field, e.g. ``accounts[0].rpm: must be > 0, got -5``.
        """

        def items(key: str) -> list[Any]:
            value = data.get(key)
            if value is None:  # an empty YAML section
                return []
            if not isinstance(value, list):
                raise field_error(key, f"must be a list, got {kind_of(value)}")
            return value

        def account(item: object) -> ProviderAccount:
            return build(ProviderAccount, item, {"retry": lambda v: build(RetryPolicy, v)})

        def parsed(key: str, parse: Callable[[object], T]) -> tuple[T, ...]:
            out: list[T] = []
            for i, item in enumerate(items(key)):
                with under(f"{key}[{i}]"):
                    out.append(parse(item))
            return tuple(out)

        if not isinstance(data, Mapping):
            raise field_error("", f"catalogue must be a mapping, got {kind_of(data)}")
        for key in data:
            if key not in ("accounts", "models", "fallbacks"):
                raise field_error(str(key), "unknown field (expected accounts, models, fallbacks)")
        return cls(
            accounts=parsed("accounts", account),
            models=parsed("models", lambda v: build(ModelSpec, v)),
            fallbacks=parsed("fallbacks", lambda v: build(FallbackPolicy, v)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The plain document `from_dict` reads back into an equal catalogue."""
        return {
            "accounts": [{**vars(a), "retry": dict(vars(a.retry))} for a in self.accounts],
            "models": [{**vars(m), "tags": sorted(m.tags)} for m in self.models],
            "fallbacks": [{**vars(f), "chain": list(f.chain)} for f in self.fallbacks],
        }

    def model(self, name: str) -> ModelSpec:
        """The model called ``name``; `NotFoundError` listing the known ones otherwise."""
        return _named("model", name, self._models)

    def account(self, name: str) -> ProviderAccount:
        """The account called ``name``; `NotFoundError` listing the known ones otherwise."""
        return _named("account", name, self._accounts)

    def account_for(self, model: str | ModelSpec) -> ProviderAccount:
        """The account serving ``model`` (a name or a spec)."""
        spec = self.model(model if isinstance(model, str) else model.name)
        return self._accounts[spec.account]

    def fallback_for(self, model: str) -> FallbackPolicy | None:
        """The fallback policy whose primary is ``model``, if any."""
        return self._fallbacks.get(model)

    def missing_api_keys(self, env: Mapping[str, str]) -> list[str]:
        """Names of accounts that need a key whose variable is unset or empty in ``env``."""
        return [a.name for a in self.accounts if a.requires_api_key and not env.get(a.key_env_var)]
