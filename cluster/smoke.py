"""`python -m cluster smoke`: short scripted episodes (K clicks, then `finished`) over every free env,
evaluated, summarized. An episode is `ok` when it ran as scripted, `masked` when its environment failed
(env_error: what a trainer would mask) and `failed` when the daemon answered something the protocol does not
allow."""
from __future__ import annotations

import statistics
import time

from .rollout import EpisodeRecord, run_independent

SMOKE_TASK = {"id": "cluster-smoke", "snapshot": "init_state", "source": "cluster smoke test", "config": [],
              "instruction": "Smoke test of the env fleet: click a few times, then declare the task "
                             "finished.",
              # scores 0.0 after finished: no setup
              "related_apps": [], "evaluator": {"func": "infeasible"}}
CLICK = "Thought: smoke test step {n}.\nAction: click(start_box='({x},{y})')"
FINISH = "Thought: the smoke test is over.\nAction: finished(content='smoke')"


def scripted_policy(clicks: int):
    """K clicks at distinct points, then finished; the step number is read from the history itself."""
    def policy(messages: list) -> str:
        done = sum(1 for message in messages if message.get("role") == "assistant")
        if done < clicks:
            return CLICK.format(n=done + 1, x=100 + 40 * done, y=200 + 20 * done)
        return FINISH
    return policy


def problems(record: EpisodeRecord, clicks: int) -> list[str]:
    """What a completed (not masked) smoke episode got wrong by the protocol."""
    found = []
    if record.steps != clicks + 1:
        found.append(f"{record.steps} steps, expected {clicks + 1}")
    if len(record.messages) != 2 * clicks + 4:
        found.append(f"history of {len(record.messages)} messages, expected {2 * clicks + 4}")
    elif record.messages[-1].get("role") != "assistant":
        found.append("the history does not end with the final assistant message")
    if record.format_reward != 0.0:
        found.append(f"format_reward {record.format_reward} for a well-formed prediction")
    if not isinstance(record.score, float) or not 0.0 <= record.score <= 1.0:
        found.append(f"score {record.score!r} is not a number in [0, 1]")
    return found


def run_smoke(fleet, envs, episodes: int, clicks: int, lease_wait: float) -> dict:
    started = time.monotonic()
    tasks = [dict(SMOKE_TASK, id=f"cluster-smoke-{i}") for i in range(episodes)]
    records = run_independent(fleet, envs, tasks, scripted_policy(clicks), max_steps=clicks + 1,
                              lease_wait=lease_wait)
    daemons = [daemon.address.display for daemon in fleet.daemons]
    return summarize(records, clicks, time.monotonic() - started, daemons)


def summarize(records: list[EpisodeRecord], clicks: int, wall: float, daemons: list[str]) -> dict:
    ok = masked = failed = 0
    per_daemon = {url: {"ok": 0, "masked": 0} for url in daemons}
    failures, errors = [], {}
    for record in records:
        counts = per_daemon.get(record.daemon)
        found = [] if record.masked else problems(record, clicks)
        if record.masked:
            masked += 1
            errors[record.env_error["code"]] = errors.get(record.env_error["code"], 0) + 1
        elif found:
            failed += 1
            failures.append(f"{record.task_id} on {record.slot}: " + "; ".join(found))
        else:
            ok += 1
        if counts is not None and not found:
            counts["masked" if record.masked else "ok"] += 1
    step_ms = sorted(ms for record in records for ms in record.step_ms)
    slots = {record.slot for record in records if record.slot is not None}
    busy = sum(record.env_seconds for record in records)
    return {"episodes": len(records), "ok": ok, "masked": masked, "failed": failed, "per_daemon": per_daemon,
            "episodes_per_min": round(ok / wall * 60, 2) if wall > 0 else 0.0,
            "step_p50_ms": round(statistics.median(step_ms), 1) if step_ms else None,
            "step_p95_ms": round(_percentile(step_ms, 0.95), 1) if step_ms else None,
            "env_utilization": round(busy / (len(slots) * wall), 3) if slots and wall > 0 else 0.0,
            "envs_used": len(slots), "wall_seconds": round(wall, 2), "env_errors": errors,
            "failures": failures}


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]
