"""Playground sessions in the engine: their store, and the work of a turn (every model's
answer streamed, piece by piece, to the session's event stream)."""


def events_key(session_id: str) -> str:
    """The Redis stream of a playground session's events.

    Examples:
        >>> events_key("pg_1")
        'af:playground:pg_1:events'
    """
    return f"af:playground:{session_id}:events"
