"""How many completion tokens a call will likely use: what a budget reserves before it."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable

DEFAULT_COMPLETION_TOKENS = 256
"""Expected before a run has seen any completion of a model and no ``max_tokens`` is set."""
MOST_COMPLETION_TOKENS = 4096
"""Ceiling of a learnt forecast: one runaway answer must not reserve a whole budget."""
WINDOW = 64
MAX_KEYS = 1024


class CompletionForecast:
    """Expected completion tokens per key (a run's model), learnt from its completions.

    With ``max_tokens`` set, the forecast is ``max_tokens``: no answer can be longer, so a
    budget reserving it is never exceeded. Without it, the forecast is the longest of the
    last completions seen under the key (capped at `MOST_COMPLETION_TOKENS`), and
    `DEFAULT_COMPLETION_TOKENS` before the first. Assuming the default for every call
    reserved ~25 times what short answers cost and stopped runs at a tenth of their budget.

    Examples:
        >>> forecast = CompletionForecast()
        >>> forecast.expect("run-1/m", None), forecast.expect("run-1/m", 32)
        (256, 32)
        >>> forecast.observe("run-1/m", 12); forecast.observe("run-1/m", 9)
        >>> forecast.expect("run-1/m", None)
        12
    """

    def __init__(self, default: int = DEFAULT_COMPLETION_TOKENS, window: int = WINDOW) -> None:
        self._default = default
        self._window = window
        self._seen: OrderedDict[Hashable, deque[int]] = OrderedDict()

    def expect(self, key: Hashable, max_tokens: int | None) -> int:
        """Completion tokens to reserve for the next call under ``key``."""
        if max_tokens:
            return max_tokens
        seen = self._seen.get(key)
        if not seen:
            return self._default
        return max(1, min(max(seen), MOST_COMPLETION_TOKENS))

    def observe(self, key: Hashable, completion_tokens: int) -> None:
        """Learn the completion tokens one call under ``key`` really used."""
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = deque(maxlen=self._window)
            while len(self._seen) > MAX_KEYS:  # a long-lived process serves many runs
                self._seen.popitem(last=False)
        self._seen.move_to_end(key)
        seen.append(completion_tokens)
