"""What a call costs: catalogue prices first, LiteLLM's cost map for models without them."""

from __future__ import annotations

from collections.abc import Iterable

from domain.llm import ModelSpec, Usage, cost_of

PerToken = tuple[float, float]


def _from_cost_map(name: str) -> PerToken | None:
    from engine.llm.provider import litellm_module

    table = litellm_module().model_cost
    for key in (name, name.split("/", 1)[-1]):
        entry = table.get(key)
        if entry and entry.get("input_cost_per_token") is not None:
            return (
                float(entry["input_cost_per_token"]),
                float(entry.get("output_cost_per_token") or 0.0),
            )
    return None


class Prices:
    """USD per token of each model, looked up once and remembered.

    Models priced neither in the catalogue nor in LiteLLM's map cost 0 (and are logged by
    `unknown`), so a budget cannot stop them: give such models prices in the catalogue.
    """

    def __init__(self) -> None:
        self._per_token: dict[str, PerToken | None] = {}

    def per_token(self, spec: ModelSpec) -> PerToken | None:
        """(input, output) USD per token, or ``None`` when unknown."""
        if spec.name not in self._per_token:
            if spec.input_cost_per_token is not None and spec.output_cost_per_token is not None:
                self._per_token[spec.name] = (
                    spec.input_cost_per_token,
                    spec.output_cost_per_token,
                )
            else:
                self._per_token[spec.name] = _from_cost_map(spec.name)
        return self._per_token[spec.name]

    def cost(self, usage: Usage, spec: ModelSpec) -> float:
        """USD of ``usage`` on ``spec`` (0 when the price is unknown)."""
        direct = cost_of(usage, spec)
        if direct is not None:
            return direct
        prices = self.per_token(spec)
        if prices is None:
            return 0.0
        return usage.prompt_tokens * prices[0] + usage.completion_tokens * prices[1]

    def reference(self, spec: ModelSpec) -> float | None:
        """USD of one token each way, for ranking models (``None`` when unknown)."""
        prices = self.per_token(spec)
        return None if prices is None else prices[0] + prices[1]

    def forecast(
        self, specs: Iterable[ModelSpec], prompt_tokens: int, completion_tokens: int
    ) -> float:
        """The most a call of this size costs on any of ``specs``: the budget reservation."""
        usage = Usage(prompt_tokens, completion_tokens)
        return max((self.cost(usage, spec) for spec in specs), default=0.0)

    def unknown(self, specs: Iterable[ModelSpec]) -> list[str]:
        """Names of models whose price is unknown."""
        return [spec.name for spec in specs if self.per_token(spec) is None]
