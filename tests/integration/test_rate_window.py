"""The user limit's one-round-trip hit keeps `limits`' own moving window: what it answers
is what `limits` reads back, and the window refuses at its size."""

from __future__ import annotations

import asyncio
import uuid

from api.ratelimit import UserRateLimiter

LIMIT = 5


def test_hits_fill_the_window_limits_reads_and_refuse_past_it(redis_url: str) -> None:
    async def scenario() -> tuple[list[tuple[bool, int, int]], int, float, bool]:
        limiter = UserRateLimiter(redis_url, LIMIT)
        user = f"user-{uuid.uuid4().hex}"
        states = []
        for _ in range(LIMIT + 2):
            state = await limiter.hit(user)
            states.append((state.allowed, state.remaining, state.reset_after))
        stats = await limiter.limiter.get_window_stats(limiter.item, user)
        peeked = await limiter.peek(limiter.item, user)
        await limiter.close()
        return states, stats.remaining, stats.reset_time, peeked.allowed

    states, remaining, reset_time, room = asyncio.run(scenario())
    assert [allowed for allowed, _, _ in states] == [True] * LIMIT + [False, False]
    assert [left for _, left, _ in states] == [4, 3, 2, 1, 0, 0, 0]
    assert all(0 < reset <= 60 for _, _, reset in states)
    assert remaining == 0  # `limits` counts the same five entries
    assert reset_time > 0
    assert room is False
