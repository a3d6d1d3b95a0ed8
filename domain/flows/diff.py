"""What changed between two flows, step by step (the prompt diff gives the text diff)."""

from __future__ import annotations

from domain.flows.spec import Flow


def flow_changes(old: Flow, new: Flow) -> tuple[str, ...]:
    """Paths of what differs, e.g. ``("steps.answer", "+steps.check", "output")``.

    ``+`` marks an added step, ``-`` a removed one; a changed step appears by its name.
    """
    changes: list[str] = []
    for field in ("inputs", "output", "description"):
        if getattr(old, field) != getattr(new, field):
            changes.append(field)
    before = {step.name: step.to_dict() for step in old.walk()}
    after = {step.name: step.to_dict() for step in new.walk()}
    for name in before:
        if name not in after:
            changes.append(f"-steps.{name}")
        elif before[name] != after[name]:
            changes.append(f"steps.{name}")
    changes += [f"+steps.{name}" for name in after if name not in before]
    if [s.name for s in old.steps] != [s.name for s in new.steps] and not changes:
        changes.append("steps.order")
    return tuple(changes)
