"""Ray Serve hosting: the REST API and the event streams as two deployments.

    serve run api.serve:app              # the REST API alone, at /
    serve run api/serve_config.yaml      # both (or `serve deploy`, which needs the dashboard)
    autoforge serve                      # embedded runtime + both, until Ctrl-C

Two Serve applications because Serve routes by path prefix and a WebSocket or SSE client
holds one `max_ongoing_requests` slot for its whole life: in the API deployment, 100 idle
followers would lock everyone out of the REST routes. So streams get their own deployment
under `/v1/streams`, sized for many idle connections, and the API is sized for throughput.

Replicas read settings from their environment, the overrides given to `bind` and the secrets
`deploy` handed over in memory (`api.replica_secrets`; never a bind argument or a
`runtime_env`, which Ray writes to world-readable files). They need `AUTOFORGE_REDIS_URL`:
every replica must count rate limits in the same Redis.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from api.app import create_app, create_stream_app
from api.config import ApiSettings, load_api_settings
from api.replica_secrets import MASTER_KEYS, fetch_secrets, hand_over, keyring_spec, split_secrets
from api.services import (
    ApiServices,
    RunOwnership,
    StoreOwners,
    owns_optimization,
    owns_playground,
    owns_queue,
)
from api.streams import STREAMS_PREFIX
from domain.errors import ConfigurationError
from engine.sdk import owns_run
from engine.settings import Settings, load_settings

API_APP = "autoforge-api"
STREAMS_APP = "autoforge-streams"
# NOTES measured 49 req/s at Serve's default of 5 and 440 req/s at 100 (32 clients, 2 cores).
# Requests mostly wait on Redis and the database (sync routes in a 40-thread pool), so 100
# in flight keeps a replica busy without queueing at the proxy; past that, requests wait in
# the proxy queue and, beyond `API_MAX_QUEUED_REQUESTS`, get a fast 503 instead of a timeout.
API_MAX_ONGOING_REQUESTS = 100
API_MAX_QUEUED_REQUESTS = 1000
# A follower costs an idle coroutine and a queue here, and one connection at the proxy: one
# Redis reader per followed stream serves every follower of a replica (`api.stream_hub`), so
# followers hold no Redis connection. 10,000 per replica: the design's one-run audience.
STREAMS_MAX_ONGOING_REQUESTS = 10_000
# Async I/O-bound replicas reserve no CPU: on a 2-core machine one reserved CPU would halve
# the evaluator pool. Scale them with replicas, not CPUs.
_ACTOR_OPTIONS: dict[str, Any] = {"num_cpus": 0}


def replica_settings(overrides: dict[str, Any], secrets: dict[str, str] | None = None) -> Settings:
    """Settings of a Serve replica, which must share Redis with every other replica.

    Args:
        overrides: the non-secret settings bound to the deployment.
        secrets: the settings handed over in memory (`fetch_secrets()` when omitted).

    Raises:
        ConfigurationError: no Redis URL (an embedded Redis per replica would split limits).
    """
    handed = fetch_secrets() if secrets is None else secrets
    fields = {name: value for name, value in handed.items() if name != MASTER_KEYS}
    # A replica's engine joins the Serve cluster, whatever the server's own setting says.
    settings = load_settings(**{**overrides, **fields, "executor": "ray"})
    if not settings.redis_url:
        raise ConfigurationError("Serve replicas need AUTOFORGE_REDIS_URL (one shared Redis)")
    return settings


def replica_api(
    overrides: dict[str, Any], api: dict[str, Any] | None, secrets: dict[str, str]
) -> ApiSettings:
    """The API settings of a replica: the bound ``api`` values, any API setting among the
    ``overrides``, and the secrets handed over in memory (the HS256 secret)."""
    fields = {**(api or {}), **overrides, **secrets}
    return load_api_settings(**{k: v for k, v in fields.items() if k in ApiSettings.model_fields})


@serve.deployment(
    name="api",
    max_ongoing_requests=API_MAX_ONGOING_REQUESTS,
    max_queued_requests=API_MAX_QUEUED_REQUESTS,
    ray_actor_options=_ACTOR_OPTIONS,
    graceful_shutdown_timeout_s=20,
)
@serve.ingress()
class ApiIngress:
    """The REST API: owns an `Engine` (DB migrated at start, shared Redis, joined Ray)."""

    def __init__(
        self, overrides: dict[str, Any] | None = None, api: dict[str, Any] | None = None
    ) -> None:
        from engine.keys import load_keyring
        from engine.logs import configure_logging
        from engine.sdk import Engine

        secrets = fetch_secrets()
        settings = replica_settings(overrides or {}, secrets)
        api_settings = replica_api(overrides or {}, api, secrets)
        configure_logging(settings.log_level, settings.log_format)
        keyring = load_keyring(settings, secrets.get(MASTER_KEYS))
        engine = Engine(settings=settings)
        self.services = ApiServices.from_runtime(
            engine.runtime, keyring=keyring, engine=engine, api=api_settings
        )
        self.services.on_close.append(engine.close)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.services, include_streams=False, behind_serve=True)

    def __del__(self) -> None:
        services = getattr(self, "services", None)
        if services is not None:
            services.close()


@serve.deployment(
    name="streams",
    max_ongoing_requests=STREAMS_MAX_ONGOING_REQUESTS,
    ray_actor_options=_ACTOR_OPTIONS,
    # Followers never finish; they reconnect with Last-Event-ID and miss nothing.
    graceful_shutdown_timeout_s=5,
)
@serve.ingress()
class StreamsIngress:
    """Run and optimization event streams (SSE and WebSocket), mounted at `/v1/streams`."""

    def __init__(
        self,
        overrides: dict[str, Any] | None = None,
        api: dict[str, Any] | None = None,
        run_owner: RunOwnership | None = None,
    ) -> None:
        from engine.db import create_db_engine
        from engine.logs import configure_logging

        secrets = fetch_secrets()
        settings = replica_settings(overrides or {}, secrets)
        api_settings = replica_api(overrides or {}, api, secrets)
        configure_logging(settings.log_level, settings.log_format)
        assert settings.redis_url is not None
        # Read-only use of the database: the API replica owns migrations.
        db = create_db_engine(settings.effective_database_url)
        self.services = ApiServices(
            settings=settings,
            db=db,
            redis_url=settings.redis_url,
            api=api_settings,
            run_owner=run_owner or StoreOwners(db, owns_run),
            optimization_owner=StoreOwners(db, owns_optimization),
            playground_owner=StoreOwners(db, owns_playground),
            queue_owner=StoreOwners(db, owns_queue),
        )
        self.services.on_close.append(db.dispose)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_stream_app(self.services, behind_serve=True)

    def __del__(self) -> None:
        services = getattr(self, "services", None)
        if services is not None:
            services.close()


def build_api_app(
    overrides: dict[str, Any] | None = None, api: dict[str, Any] | None = None
) -> Application:
    """The REST API as a bound Serve application (`ApiSettings.replicas` replicas)."""
    replicas = ApiSettings(**(api or {})).replicas
    deployment: Any = ApiIngress
    if replicas != 1:  # left unset otherwise, so a Serve config's autoscaling_config applies
        deployment = deployment.options(num_replicas=replicas)
    return deployment.bind(overrides or {}, api or {})  # type: ignore[no-any-return]


def build_streams_app(
    overrides: dict[str, Any] | None = None,
    api: dict[str, Any] | None = None,
    run_owner: RunOwnership | None = None,
) -> Application:
    """The event streams as a bound Serve application."""
    deployment: Any = StreamsIngress
    return deployment.bind(overrides or {}, api or {}, run_owner)  # type: ignore[no-any-return]


app = build_api_app()
streams_app = build_streams_app()


def deploy(
    overrides: dict[str, Any],
    *,
    api: dict[str, Any] | None = None,
    master_keys: str | None = None,
    run_owner: RunOwnership | None = None,
) -> Any:
    """Run both applications on the Serve instance already started (`serve.start`).

    Secrets among ``overrides`` (and ``master_keys``) are handed to replicas in memory; only
    the rest is bound. Keep the returned handle while Serve runs: replicas that (re)start
    read the secrets from it.
    """
    plain, secrets = split_secrets(overrides)
    api, api_secrets = split_secrets(api or {})
    secrets.update(api_secrets)
    if master_keys:
        secrets[MASTER_KEYS] = master_keys
    holder = hand_over(secrets)
    logging = serve_logging(overrides, api)
    serve.run(
        build_api_app(plain, api),
        name=API_APP,
        route_prefix="/",
        logging_config=logging,
    )
    serve.run(
        build_streams_app(plain, api, run_owner),
        name=STREAMS_APP,
        route_prefix=STREAMS_PREFIX,
        logging_config=logging,
    )
    return holder


def serve_logging(overrides: dict[str, Any], api: dict[str, Any] | None) -> dict[str, Any]:
    """Serve's own logging for our replicas: our log level, access log per `ApiSettings`."""
    level = overrides.get("log_level") or load_settings(**overrides).log_level
    return {"log_level": level, "enable_access_log": ApiSettings(**(api or {})).access_log}


def replica_overrides(
    settings: Settings, redis_url: str, api: ApiSettings | None = None
) -> dict[str, Any]:
    """The settings a driver hands to its replicas (the engine's, and the API's when given),
    secrets included: `deploy` splits them off."""
    shown = settings.model_dump(mode="json", exclude={"ray_address"})
    if api is not None:
        shown.update(api.model_dump(mode="json", exclude={"host", "port"}))
        for name in ("auth_hs256_secret", "metrics_token"):
            secret = getattr(api, name)
            if secret is not None:
                shown[name] = secret.get_secret_value()
    shown.update(database_url=settings.effective_database_url, redis_url=redis_url)
    return shown


def master_keys_of(settings: Settings) -> str:
    """The driver's master keys as one spec (fails fast in production; creates the dev key)."""
    from engine.keys import load_keyring

    return keyring_spec(load_keyring(settings))
