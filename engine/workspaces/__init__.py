"""Workspaces and memberships in the database."""

from engine.workspaces.store import WorkspaceStore

__all__ = ["WorkspaceStore"]
