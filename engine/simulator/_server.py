"""The simulator's HTTP server: aiohttp low-level handlers speaking the OpenAI API."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from engine.simulator import _openai
from engine.simulator._config import SimulatorConfig
from engine.simulator._embeddings import as_base64, embed
from engine.simulator._limits import RateLimiter
from engine.simulator._logprobs import token_logprobs
from engine.simulator._models import EMBEDDING_MODEL, MODERATION_MODEL, SIMULATED_MODELS
from engine.simulator._moderation import moderate
from engine.simulator._reply import simulate_reply
from engine.simulator._requests import (
    BadRequest,
    ChatRequest,
    estimate_tokens,
    parse_body,
    parse_chat,
    parse_embeddings,
    parse_moderations,
)
from engine.simulator._stats import Stats, credential_fingerprint, last_user_text
from engine.simulator._tools import OfferedTool, SimulatedCall, parse_tools, simulate_call

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, headers=headers, content_type="application/json")


class Simulator:
    """A simulated OpenAI-compatible provider served over real HTTP on 127.0.0.1.

    Args:
        config: Behaviour of the server; defaults to ``SimulatorConfig()``.

    Examples:
        >>> sim = Simulator(SimulatorConfig(rpm=60))  # doctest: +SKIP
        >>> await sim.start()  # doctest: +SKIP
        >>> sim.api_base  # doctest: +SKIP
        'http://127.0.0.1:40123/v1'
        >>> await sim.stop()  # doctest: +SKIP
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.url = ""
        self.api_base = ""
        self._stats = Stats()
        self._limiter = RateLimiter(self.config.rpm, self.config.tpm, window_s=self.config.window_s)
        self._rng = random.Random(self.config.seed)
        self._runner: web.ServerRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._counter = 0
        self._routes: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/embeddings"): self._embeddings,
            ("POST", "/v1/moderations"): self._moderations,
            ("GET", "/v1/models"): self._models,
        }
        self._admin: dict[tuple[str, str], Handler] = {
            ("GET", "/health"): self._health,
            ("GET", "/stats"): self._get_stats,
            ("GET", "/stats/requests"): self._get_request_log,
            ("POST", "/stats/reset"): self._reset_stats,
        }

    async def start(self) -> None:
        """Bind the port and start serving; sets ``url`` and ``api_base``."""
        host = self.config.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self.config.port))
        except OSError:
            sock.close()
            raise
        self._stopping = asyncio.Event()
        server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(server, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        port = sock.getsockname()[1]
        self.url = (
            f"http://[{host}]:{port}" if family == socket.AF_INET6 else f"http://{host}:{port}"
        )
        self.api_base = f"{self.url}/v1"

    async def stop(self) -> None:
        """Release hanging requests, close connections and free the port."""
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def stats(self) -> dict[str, Any]:
        """Counters as served on ``GET /stats`` (see ``Stats.snapshot``)."""
        return self._stats.snapshot()

    def request_log(self) -> dict[str, Any]:
        """Every chat request since the last reset (see ``Stats.request_log``)."""
        return self._stats.request_log()

    def reset_stats(self) -> None:
        """Zero every counter (the rate-limit windows are kept)."""
        self._stats.reset()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        key = (request.method, request.path)
        handler = self._admin.get(key)
        if handler is not None:
            return await handler(request)
        handler = self._routes.get(key)
        if handler is None and request.method == "GET" and request.path.startswith("/v1/models/"):
            handler = self._model
        if handler is None:
            return _json(
                404,
                _openai.error(
                    f"Unknown route {request.method} {request.path}",
                    "invalid_request_error",
                    "unknown_url",
                ),
            )
        route = f"{request.method} {request.path}"
        stats = self._stats
        stats.requests_total += 1
        stats.by_route[route] += 1
        stats.by_credential[credential_fingerprint(request.headers.get("Authorization"))] += 1
        stats.request_started()
        try:
            if self._wrong_key(request):
                raise BadRequest(401, "Incorrect API key provided (simulated).", "invalid_api_key")
            response = await handler(request)
        except BadRequest as exc:
            response = _json(exc.status, _openai.error(str(exc), exc.type, exc.code))
        finally:
            stats.request_finished()
        self._stats.by_status[response.status] += 1
        return response

    def _wrong_key(self, request: web.BaseRequest) -> bool:
        expected = self.config.api_key
        if expected is None or not request.path.startswith("/v1/"):
            return False
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return not hmac.compare_digest(given.encode(), expected.encode())

    async def _admit(
        self, tokens: int, latency_factor: float
    ) -> tuple[web.Response | None, dict[str, str]]:
        """Apply rate limits, injected faults and latency; a Response means: send this."""
        admission = self._limiter.admit(tokens)
        headers = admission.headers
        if not admission.allowed:
            self._stats.rate_limited += 1
            message = (
                f"Rate limit reached for {admission.limited_by} per minute (simulated). "
                f"Please try again in {admission.retry_after_s:.3f}s."
            )
            body = _openai.error(message, "rate_limit_error", "rate_limit_exceeded")
            return _json(429, body, headers), headers
        cfg = self.config
        draw = self._rng.random()
        if draw < cfg.timeout_rate + cfg.error_rate and draw >= cfg.error_rate:
            self._stats.injected_timeouts += 1
            assert self._stopping is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), cfg.timeout_hang_s)
        delay = cfg.latency_ms * latency_factor
        if cfg.jitter_ms:
            delay += self._rng.uniform(-cfg.jitter_ms, cfg.jitter_ms)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        if draw < cfg.error_rate:
            self._stats.injected_errors += 1
            status = 500 if self._rng.random() < 0.5 else 503
            return _json(status, _openai.server_error(status), headers), headers
        return None, headers

    async def _stream(
        self, request: web.BaseRequest, events: list[bytes], headers: dict[str, str]
    ) -> web.StreamResponse:
        """Send ``events`` one write each, ``stream_piece_ms`` apart."""
        response = web.StreamResponse(headers={**headers, "Content-Type": "text/event-stream"})
        await response.prepare(request)
        pause = self.config.stream_piece_ms / 1000
        for i, event in enumerate(events):
            if pause and i:
                await asyncio.sleep(pause)
            await response.write(event)
        await response.write_eof()
        return response

    async def _chat(self, request: web.BaseRequest) -> web.StreamResponse:
        arrived = time.time()
        body = parse_body(await request.read())
        chat = parse_chat(body)
        tools, tool_choice = parse_tools(body)
        self._stats.by_model[chat.profile.name] += 1
        early, headers = await self._admit(chat.token_budget, chat.profile.latency_factor)
        status = 200 if early is None else early.status
        self._stats.log_chat(arrived, chat.profile.name, last_user_text(chat.messages), status)
        if early is not None:
            return early
        calls = [self._tool_call(chat, tools, tool_choice, i) for i in range(chat.n)]
        choices = [
            ("", "tool_calls") if call is not None else self._reply(chat, i)
            for i, call in enumerate(calls)
        ]
        completion_tokens = sum(estimate_tokens(content) for content, _ in choices)
        completion_tokens += sum(estimate_tokens(c.arguments) for c in calls if c is not None)
        self._stats.tokens_in += chat.prompt_tokens
        self._stats.tokens_out += completion_tokens
        self._counter += 1
        completion = _openai.chat_completion(
            f"chatcmpl-sim{self._counter:08x}",
            chat.profile.name,
            int(time.time()),
            choices,
            _openai.usage(chat.prompt_tokens, completion_tokens),
            [token_logprobs(content) for content, _ in choices] if chat.logprobs else None,
            [None if c is None else [c.wire()] for c in calls] if tools else None,
        )
        if chat.stream:
            events = _openai.chat_stream(completion, chat.include_usage)
            return await self._stream(request, events, headers)
        return _json(200, _openai.dumps(completion), headers)

    def _tool_call(
        self, chat: ChatRequest, tools: tuple[OfferedTool, ...], choice: Any, index: int
    ) -> SimulatedCall | None:
        call = simulate_call(
            tools,
            choice,
            chat.messages,
            model=chat.profile.name,
            seed=self.config.seed + index,
            request_seed=chat.seed,
            error_rate=self.config.tool_error_rate,
        )
        if call is not None:
            self._stats.tool_calls += 1
            self._stats.malformed_tool_calls += call.malformed
        return call

    def _reply(self, chat: ChatRequest, index: int) -> tuple[str, str]:
        """One choice as (content, finish_reason); choice 0 is what ``n=1`` would get."""
        content = simulate_reply(
            chat.profile,
            chat.messages,
            temperature=chat.temperature,
            seed=self.config.seed + index,
            request_seed=chat.seed,
        )
        if chat.max_tokens and estimate_tokens(content) > chat.max_tokens:
            return content[: chat.max_tokens * 4], "length"
        return content, "stop"

    async def _embeddings(self, request: web.BaseRequest) -> web.Response:
        spec = parse_embeddings(parse_body(await request.read()))
        self._stats.by_model[spec.model] += 1
        early, headers = await self._admit(spec.tokens, 0.5)
        if early is not None:
            return early
        vectors: list[Any] = [embed(t, spec.dimensions) for t in spec.texts]
        if spec.base64:
            vectors = [as_base64(v) for v in vectors]
        self._stats.tokens_in += spec.tokens
        body = _openai.embeddings(spec.model, vectors, spec.tokens)
        return _json(200, _openai.dumps(body), headers)

    async def _moderations(self, request: web.BaseRequest) -> web.Response:
        spec = parse_moderations(parse_body(await request.read()))
        self._stats.by_model[spec.model] += 1
        early, headers = await self._admit(spec.tokens, 0.5)
        if early is not None:
            return early
        self._stats.tokens_in += spec.tokens
        self._counter += 1
        verdicts = [moderate(text) for text in spec.texts]
        body = _openai.moderation(f"modr-sim{self._counter:08x}", spec.model, verdicts)
        return _json(200, _openai.dumps(body), headers)

    async def _models(self, _request: web.BaseRequest) -> web.Response:
        names = [*SIMULATED_MODELS, EMBEDDING_MODEL, MODERATION_MODEL]
        return _json(200, _openai.dumps(_openai.models_list(names)))

    async def _model(self, request: web.BaseRequest) -> web.Response:
        name = request.path.removeprefix("/v1/models/")
        if name not in SIMULATED_MODELS and name not in (EMBEDDING_MODEL, MODERATION_MODEL):
            raise BadRequest(404, f"The model `{name}` does not exist", "model_not_found")
        return _json(200, _openai.dumps(_openai.model_object(name)))

    async def _health(self, _request: web.BaseRequest) -> web.Response:
        return _json(200, b'{"status":"ok"}')

    async def _get_stats(self, _request: web.BaseRequest) -> web.Response:
        return _json(200, _openai.dumps(self.stats()))

    async def _get_request_log(self, _request: web.BaseRequest) -> web.Response:
        return _json(200, _openai.dumps(self.request_log()))

    async def _reset_stats(self, _request: web.BaseRequest) -> web.Response:
        self.reset_stats()
        return _json(200, _openai.dumps(self.stats()))
