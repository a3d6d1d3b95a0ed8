"""The data directory is private to its user and owned by one engine process at a time."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.integration


def _modes(root: Path) -> dict[str, str]:
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_data_dir_and_every_file_in_it_are_private_even_when_it_existed_looser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.runtime import Runtime
    from engine.settings import load_settings

    monkeypatch.delenv("REDIS_URL", raising=False)
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as an older version, or a umask of 022, left it
    (data / "autoforge.db").touch(mode=0o644)
    (data / "autoforge.db").chmod(0o644)
    with Runtime(load_settings(data_dir=data), start_ray=False) as rt:
        assert rt.db is not None
        with rt.db.begin() as connection:
            connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        rt.redis.set("probe", "1")
        modes = _modes(data)
        for name in ("autoforge.db-wal", "autoforge.db-shm", "redis/appendonly.aof"):
            assert name in modes, f"{name} not created: {sorted(modes)}"
        loose = {name: mode for name, mode in modes.items() if int(mode, 8) & 0o077}
    assert modes["."] == "0o700"
    assert loose == {}


def test_a_second_runtime_joins_the_owners_redis_instead_of_starting_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.runtime import Runtime
    from engine.settings import load_settings

    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = load_settings(data_dir=tmp_path)
    with Runtime(settings, start_ray=False) as owner:
        assert owner.embedded_redis is not None
        pid = owner.embedded_redis.pid
        with Runtime(settings, start_ray=False) as guest:
            assert guest.embedded_redis is None
            assert guest.redis_url == owner.redis_url
            guest.redis.set("from-guest", "1")
        assert owner.embedded_redis.pid == pid
        assert owner.redis.get("from-guest") == "1"
    # The owner is gone: the next runtime owns the directory again.
    with Runtime(settings, start_ray=False) as after:
        assert after.embedded_redis is not None and after.redis.get("from-guest") == "1"


_OWNER = """
import time
from engine.runtime import Runtime
rt = Runtime(start_ray=False).start()
rt.redis.set("kept", "1")
print(rt.embedded_redis.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_a_guest_copes_with_its_owner_dying_and_the_next_process_owns_the_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psutil
    import redis

    from engine.runtime import Runtime
    from engine.settings import load_settings

    monkeypatch.delenv("REDIS_URL", raising=False)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["AUTOFORGE_DATA_DIR"] = str(tmp_path)
    owner = subprocess.Popen([sys.executable, "-c", _OWNER], env=env, stdout=subprocess.PIPE)
    try:
        assert owner.stdout is not None
        redis_pid = int(owner.stdout.readline())
        settings = load_settings(data_dir=tmp_path)
        guest = Runtime(settings, start_ray=False).start()
        assert guest.embedded_redis is None and guest.redis.get("kept") == "1"
    finally:
        owner.kill()
        owner.wait()
    with contextlib.suppress(psutil.NoSuchProcess):  # it dies with its owner
        psutil.Process(redis_pid).wait(timeout=10)
    with pytest.raises(redis.ConnectionError):  # after its reconnect attempts, not a hang
        guest.redis.ping()
    guest.stop()
    with Runtime(settings, start_ray=False) as after:
        assert after.embedded_redis is not None and after.redis.get("kept") == "1"


@pytest.mark.slow
def test_an_unreachable_redis_is_one_cli_line(tmp_path: Path) -> None:
    env = {**os.environ, "AUTOFORGE_DATA_DIR": str(tmp_path)}
    env["REDIS_URL"] = f"unix://{tmp_path / 'nobody.sock'}"
    (tmp_path / "cases.jsonl").write_text('{"vars": {"q": "x"}}\n')
    eval_file = tmp_path / "eval.yaml"  # a command that needs Redis (run list reads the DB)
    eval_file.write_text(
        "simulator: true\nprompt: {name: qa, versions: [{template: '{{ q }}'}]}\n"
        "models: [openai/sim-small]\ndataset: cases.jsonl\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "eval", str(eval_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stderr.startswith("autoforge: service-unavailable: cannot reach Redis at unix://")
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr[-2000:]
