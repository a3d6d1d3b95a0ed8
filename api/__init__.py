"""The HTTP API: FastAPI app factory (`api.app`), auth, limits, problems, Ray Serve hosting."""
