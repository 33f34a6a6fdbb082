"""The gateway's processes on this machine, read from /proc: which function process belongs to which local
gateway, its sandbox children, and how much CPU they use. For tests that must see what a request leaves
running after it answered."""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# shared::code::sandbox::WORKER_ARG: the argument a sandbox process is started with.
WORKER_ARG = "--mcp-gateway-code-sandbox"


def _stat_fields(path: str) -> list[str]:
    """Fields of a /proc stat file after the command name (which may contain spaces and parentheses)."""
    text = Path(path).read_text()
    return text.rsplit(")", 1)[1].split()


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(_stat_fields(f"/proc/{entry}/stat")[1])
            except (OSError, IndexError, ValueError):
                pass  # gone meanwhile
    return parents


def descendants(pid: int) -> list[int]:
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def gateway_pid(port: int) -> int:
    """The process infra/gateway.sh started for the gateway on `port`."""
    return int((ROOT / ".run" / f"gateway-{port}.pid").read_text().strip())


def exe_name(pid: int) -> str:
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return ""


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        return _stat_fields(f"/proc/{pid}/stat")[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def parent_of(pid: int) -> int:
    return int(_stat_fields(f"/proc/{pid}/stat")[1])


def function_processes(port: int, binary: str) -> list[int]:
    """The live processes of `binary` (a function package, or mcp-gateway-server) under the gateway on `port`
    (excluding its sandbox processes, which are the same binary)."""
    root = gateway_pid(port)
    tree = [root, *descendants(root)]
    return [p for p in tree if exe_name(p) == binary and WORKER_ARG not in cmdline(p) and alive(p)]


def sandboxes(port: int) -> list[int]:
    """Live sandbox processes under the gateway on `port`."""
    root = gateway_pid(port)
    return [p for p in descendants(root) if WORKER_ARG in cmdline(p) and alive(p)]


def cpu_ticks(pids: list[int]) -> int:
    """User + system CPU time (clock ticks) of every thread of `pids`."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                fields = _stat_fields(str(task / "stat"))
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
    return total


def cpu_over(pids: list[int], seconds: float = 1.0) -> int:
    """Ticks the processes used over `seconds` (100 ticks = one core busy for one second)."""
    before = cpu_ticks(pids)
    time.sleep(seconds)
    return cpu_ticks(pids) - before
