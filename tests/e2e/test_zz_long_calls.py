"""The long tool calls started with the session (long_calls.py) completed, with progress throughout: several
minutes through the streaming gateway under `cargo lambda watch` (Python client) and through the plain server
(TypeScript client). Named to run last, so the calls had the whole suite's time to finish."""

from __future__ import annotations

from long_calls import CALLS, EVERY, SECONDS

# What may remain after the rest of the suite, at worst (the suite itself runs longer than the calls).
GRACE = SECONDS + 120


def test_a_long_call_through_the_watcher_completes_with_progress_throughout():
    result = CALLS.python_result(GRACE)
    assert result.get("ok"), result
    assert result["text"].startswith(f"finished after {SECONDS:g} s"), result
    times = [at for at, _ in result["progress"]]
    assert len(times) >= SECONDS / EVERY, f"{len(times)} progress notifications"
    # Progress came during the call, every few seconds, not in a burst at its end.
    assert times[0] < 2 * EVERY and result["elapsed"] - times[-2] < 3 * EVERY, times
    assert max(b - a for a, b in zip(times, times[1:])) < 3 * EVERY, times
    assert result["elapsed"] >= SECONDS


def test_a_long_call_through_the_plain_server_completes_with_progress_throughout():
    result = CALLS.ts_result(GRACE)
    assert result["isError"] is False and result["text"].startswith(f"finished after {SECONDS:g} s"), result
    assert result["progress"] >= SECONDS / EVERY, result
    assert result["elapsed"] >= SECONDS * 1000, result
