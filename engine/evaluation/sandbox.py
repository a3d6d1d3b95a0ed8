"""Running a code assertion: a fresh interpreter per call, bounded, without our secrets.

The program is the operator's own (the SDK's or CLI's user; the HTTP API refuses code
scorers), so this bounds accidents rather than containing an attacker: each call is a new
``python -I`` or ``node`` process in an empty temporary directory, with a minimal
environment (no API keys, no ``REDIS_URL``, no ``AUTOFORGE_*``), an address-space limit
(RLIMIT_AS; node also gets ``--max-old-space-size`` and ``--jitless``, without which V8
cannot even reserve its code range under 1 GiB), a CPU-time limit as a backstop, a wall-clock
timeout that kills its whole process group, and a cap on what it may write. JSON goes in on
stdin and comes back as the last line of stdout; the program's own prints go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_OUTPUT_BYTES = 1024 * 1024
_STDERR_KEPT = 16 * 1024
_CHUNK = 64 * 1024

_PYTHON_RUNNER = r"""
import json, os, sys, textwrap
out = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)

def plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    try:
        return float(v)
    except Exception:
        return {"unsupported": type(v).__name__}

def run(req):
    output, context, code = req["output"], req["context"], req["code"]
    if req["mode"] == "expression":
        if "\n" not in code.strip():
            scope = {"output": output, "context": context}
            return eval(compile(code.strip(), "<expression>", "eval"), scope)
        body = "def __assertion__(output, context):\n" + textwrap.indent(code, "    ")
        scope = {}
        exec(compile(body, "<expression>", "exec"), scope)
        return scope["__assertion__"](output, context)
    scope = {"__name__": "__assertion__"}
    exec(compile(code, "<source>", "exec"), scope)
    fn = scope.get(req["function"])
    if not callable(fn):
        raise NameError("the source defines no function " + req["function"])
    return fn(output, context)

try:
    answer = {"ok": True, "value": plain(run(json.load(sys.stdin)))}
except MemoryError:
    answer = {"ok": False, "error": "MemoryError", "kind": "memory"}
except BaseException as exc:
    answer = {"ok": False, "error": (type(exc).__name__ + ": " + str(exc))[:1000]}
out.write("\n" + json.dumps(answer) + "\n")
out.flush()
"""

_NODE_RUNNER = r"""
const realWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);
console.log = console.info = console.debug = console.error;
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", async () => {
  let answer;
  try {
    const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    let fn;
    if (req.mode === "expression") {
      const code = req.code.trim().includes("\n") ? req.code : "return (" + req.code.trim() + ");";
      fn = new Function("output", "context", code);
    } else {
      const mod = { exports: {} };
      const tail = req.function
        ? "\n;return typeof " + req.function + " === 'function' ? " + req.function + " : undefined;"
        : "";
      const local = new Function("module", "exports", "require", req.code + tail)(
        mod, mod.exports, require);
      const ex = mod.exports;
      fn = req.function ? (ex && typeof ex[req.function] === "function" ? ex[req.function] : local)
        : (typeof ex === "function" ? ex : ex && ex.default);
      if (typeof fn !== "function") {
        throw new Error("the source exports no function " + (req.function || "(module.exports)"));
      }
    }
    const value = await fn(req.output, req.context);
    answer = { ok: true, value: value === undefined ? null : value };
  } catch (err) {
    const name = (err && err.name) || "Error";
    const message = (err && err.message) || String(err);
    answer = { ok: false, error: (name + ": " + message).slice(0, 1000) };
    if (/allocation failed|out of memory/i.test(message)) answer.kind = "memory";
  }
  realWrite("\n" + JSON.stringify(answer) + "\n");
});
"""


@dataclass(frozen=True)
class SandboxResult:
    """The program's JSON answer, or why there is none (``failure``)."""

    answer: dict[str, Any] | None = None
    failure: str | None = None


def child_env(tmp: str) -> dict[str, str]:
    """The whole environment a program gets: nothing of ours, no key, no service address."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": tmp,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def _limits(memory_bytes: int, cpu_s: int) -> Any:
    def apply() -> None:  # runs in the child between fork and exec: C calls only
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _command(language: str, memory_bytes: int) -> list[str] | None:
    if language == "python":
        return [sys.executable, "-I", "-c", _PYTHON_RUNNER]
    if language == "javascript":
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            return None
        heap_mb = max(16, memory_bytes // (2 * 1024 * 1024))
        return [
            node,
            "--jitless",
            f"--max-old-space-size={heap_mb}",
            "--no-warnings",
            "-e",
            _NODE_RUNNER,
        ]
    raise ValueError(f"no sandbox for language {language!r}")


async def _read(stream: asyncio.StreamReader, cap: int) -> tuple[bytes, bool]:
    """Up to ``cap`` bytes of ``stream`` and whether it held more (the rest is drained, so
    the program never blocks on a full pipe)."""
    kept = bytearray()
    total = 0
    while chunk := await stream.read(_CHUNK):
        total += len(chunk)
        if len(kept) < cap:
            kept += chunk[: cap - len(kept)]
    return bytes(kept), total > cap


async def run_program(
    language: str,
    request: Mapping[str, Any],
    *,
    timeout_s: float,
    memory_bytes: int,
    max_output_bytes: int = MAX_OUTPUT_BYTES,
) -> SandboxResult:
    """Run one code assertion's ``request`` (see `CodeAssertion.request`); never raises for
    anything the program does.

    Args:
        language: ``"python"`` or ``"javascript"``.
        request: The JSON the runner reads on stdin.
        timeout_s: Wall-clock limit from the start of the process.
        memory_bytes: Address-space limit of the process.
        max_output_bytes: What stdout may hold; beyond, the answer is refused.

    Returns:
        The program's answer, or a failure: ``timed out after N s``, ``ran out of memory``,
        ``node is not installed``, ``wrote more than N bytes``, ``used more than N s of CPU
        time`` (threads add up), ``exited with code N and no answer: …``.
    """
    command = _command(language, memory_bytes)
    if command is None:
        return SandboxResult(failure="node is not installed")
    payload = json.dumps(request).encode()
    limit_mb = memory_bytes // (1024 * 1024)
    cpu_s = math.ceil(timeout_s) + 1
    with tempfile.TemporaryDirectory(prefix="af-sandbox-") as tmp:
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=tmp,
                env=child_env(tmp),
                preexec_fn=_limits(memory_bytes, cpu_s),
                start_new_session=True,  # its own process group: a timeout kills its children
            )
        except OSError as exc:  # no process at all (fork refused, too many open files)
            return SandboxResult(failure=f"could not start {language}: {exc.strerror or exc}")
        try:
            stdout, stderr, code = await asyncio.wait_for(
                _exchange(process, payload, max_output_bytes), timeout_s
            )
        except TimeoutError:
            return SandboxResult(failure=f"timed out after {timeout_s:g} s")
        finally:
            _kill_group(process)
            await process.wait()
    (out, out_over), (err, _) = stdout, stderr
    if out_over:
        return SandboxResult(failure=f"wrote more than {max_output_bytes} bytes of output")
    lines = [line for line in out.decode("utf-8", "replace").splitlines() if line.strip()]
    answer = _json_line(lines[-1]) if lines else None
    if answer is not None:
        return SandboxResult(answer=answer)
    text = err.decode("utf-8", "replace")
    if code == -signal.SIGXCPU:
        return SandboxResult(failure=f"used more than {cpu_s} s of CPU time")
    if _out_of_memory(text, code):
        how = f"; killed by {signal.Signals(-code).name}" if code < 0 else ""
        return SandboxResult(failure=f"ran out of memory (limit {limit_mb} MiB{how})")
    last = (text.strip().splitlines() or ["nothing on stderr"])[-1][:300]
    return SandboxResult(failure=f"exited with code {code} and no answer: {last}")


def _json_line(line: str) -> dict[str, Any] | None:
    try:
        answer = json.loads(line)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


async def _exchange(
    process: asyncio.subprocess.Process, payload: bytes, cap: int
) -> tuple[tuple[bytes, bool], tuple[bytes, bool], int]:
    assert process.stdin and process.stdout and process.stderr
    try:
        process.stdin.write(payload)
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # it exited before reading everything: its exit code tells why
    stdout, stderr = await asyncio.gather(
        _read(process.stdout, cap), _read(process.stderr, _STDERR_KEPT)
    )
    return stdout, stderr, await process.wait()


def _kill_group(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _out_of_memory(stderr: str, code: int) -> bool:
    # Without an answer only: V8 aborts (SIGABRT) when its heap hits the limit, or faults
    # (SIGSEGV) when an mmap beyond RLIMIT_AS fails; CPython raises MemoryError, which its
    # runner reports itself unless the interpreter could not even start.
    lowered = stderr.lower()
    return (
        "out of memory" in lowered
        or "memoryerror" in lowered
        or code in (-signal.SIGABRT, -signal.SIGSEGV)
    )
