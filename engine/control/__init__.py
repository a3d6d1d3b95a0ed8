"""The control channel: how a process that joins a data dir's owner asks it to work runs.

The owner serves requests on a Redis list of its deployment (`ControlServer`); a joiner
(`ControlClient`) needs neither Ray nor LiteLLM to start, cancel or follow a run.
"""

from engine.control.client import ControlClient
from engine.control.protocol import ControlBackend, control_tag
from engine.control.server import ControlServer

__all__ = ["ControlBackend", "ControlClient", "ControlServer", "control_tag"]
