"""The two rollout loops researchers use, over leased fleet slots, with a policy callback
(messages -> prediction).

- `run_lockstep`: ARPO's batch. One env per task, every round waits for all running envs (one "batched
  generation": the policy is called for every running env at once and the round waits for the slowest), an env
  that finishes is evaluated at once while the others keep stepping.
- `run_independent`: each env runs its own episode as soon as it is free and takes the next task when done.

Both run the env calls through a backend: `LocalEnvs` (a RemoteEnv per slot in this process) or
`cluster.ray_rollout.RayEnvs` (a Ray actor per slot). An episode whose environment failed comes back `masked`
with the env_error; the run goes on with the other envs and always ends (every wait is bounded).
"""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from .fleet import EnvFleet, Slot
from .remote_env import EnvResult, Evaluation, RemoteEnv, RetryBudget, Timeouts

Policy = Callable[[list], str]                   # one env's messages -> its prediction
BatchPolicy = Callable[[list], list]             # every running env's messages -> their predictions, in order


@dataclass
class EpisodeRecord:
    task_id: str
    slot: Slot | None = None
    messages: list = field(default_factory=list)     # the full history, final assistant message included
    steps: int = 0
    format_reward: float = 0.0
    score: float | None = None
    env_error: dict | None = None
    env_seconds: float = 0.0                          # time in reset/step/evaluate calls
    step_ms: list = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    @property
    def masked(self) -> bool:
        return self.env_error is not None

    @property
    def daemon(self) -> str | None:
        return self.slot.address.display if self.slot else None


class SlotEnvs:
    """A backend: one env object per slot, made on first use (`make`), shared by the loops' threads."""

    def __init__(self, timeouts: Timeouts = Timeouts(), retry: RetryBudget = RetryBudget(),
                 reset_options: dict | None = None):
        self.options = (timeouts, retry, reset_options)
        self.envs: dict[Slot, object] = {}
        self.lock = threading.Lock()

    def env(self, slot: Slot):
        with self.lock:
            if slot not in self.envs:
                self.envs[slot] = self.make(slot)
            return self.envs[slot]

    def make(self, slot: Slot):
        raise NotImplementedError


class LocalEnvs(SlotEnvs):
    """Backend: one RemoteEnv per slot, in this process."""

    def make(self, slot: Slot) -> RemoteEnv:
        return RemoteEnv(slot.address, slot.env_idx, *self.options)

    def close(self) -> None:
        for env in self.envs.values():
            env.close()


class _Episode:
    """One episode on one env: timed calls, results folded into its record."""

    def __init__(self, env, task: dict, record: EpisodeRecord):
        self.env, self.task, self.record = env, task, record
        self.result: EnvResult | None = None

    @property
    def running(self) -> bool:
        return self.result is not None and not self.result.is_done

    def reset(self, max_steps: int) -> None:
        self.record.started = time.monotonic()
        self.result = self._timed(lambda: self.env.reset(self.task, max_steps=max_steps))
        self._fold()

    def step(self, prediction: str) -> None:
        began = time.monotonic()
        self.result = self._timed(lambda: self.env.step(prediction))
        self.record.step_ms.append((time.monotonic() - began) * 1000)
        self.record.steps += 1
        self.record.format_reward = self.result.format_reward
        self._fold()

    def evaluate(self) -> None:
        if not self.record.masked:
            evaluation: Evaluation = self._timed(self.env.evaluate)
            self.record.score, self.record.env_error = evaluation.score, evaluation.env_error
            self.record.messages = self.env.history_messages()
        self.record.ended = time.monotonic()

    def _fold(self) -> None:
        if self.result.env_error is not None:
            self.record.env_error = self.result.env_error
            self.record.ended = time.monotonic()

    def _timed(self, call):
        began = time.monotonic()
        try:
            return call()
        finally:
            self.record.env_seconds += time.monotonic() - began


def run_episode(env, task: dict, policy: Policy, max_steps: int, record: EpisodeRecord) -> EpisodeRecord:
    episode = _Episode(env, task, record)
    episode.reset(max_steps)
    while episode.running:
        episode.step(policy(episode.result.obs_messages))
    episode.evaluate()
    return record


def run_independent(fleet: EnvFleet, envs, tasks: list[dict], policy: Policy, max_steps: int = 15,
                    lease_wait: float = 600.0, concurrency: int | None = None) -> list[EpisodeRecord]:
    """Every task as its own episode on the next free slot; returns the records in task order. Once a lease
    has waited lease_wait in vain the fleet is stuck: the tasks left take a free slot only if one is free at
    once."""
    fleet.refresh(force=True)
    todo: queue.Queue = queue.Queue()
    for index, task in enumerate(tasks):
        todo.put((index, task))
    records: list[EpisodeRecord | None] = [None] * len(tasks)
    stuck = threading.Event()

    def worker() -> None:
        while True:
            try:
                index, task = todo.get_nowait()
            except queue.Empty:
                return
            records[index] = _leased_episode(fleet, envs, task, policy, max_steps, lease_wait, stuck)

    threads = min(concurrency or max(1, len(fleet.slots())), max(len(tasks), 1))
    with ThreadPoolExecutor(threads, thread_name_prefix="episode") as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
    return records


def _leased_episode(fleet: EnvFleet, envs, task: dict, policy: Policy, max_steps: int, lease_wait: float,
                    stuck: threading.Event) -> EpisodeRecord:
    record = EpisodeRecord(_task_id(task))
    slot = fleet.lease(wait_seconds=0.0 if stuck.is_set() else lease_wait)
    if slot is None:
        stuck.set()
        return _no_slot(record, lease_wait)
    record.slot = slot
    try:
        return run_episode(envs.env(slot), task, policy, max_steps, record)
    finally:
        fleet.release(slot, record.env_error)


def run_lockstep(fleet: EnvFleet, envs, tasks: list[dict], policy: Policy | None, max_steps: int = 15,
                 lease_wait: float = 600.0, batch_policy: BatchPolicy | None = None) -> list[EpisodeRecord]:
    """ARPO's batch: one slot per task, rounds in lock-step, evaluation as soon as an env is done. Each round
    asks `batch_policy` once for all running envs (one batched generation), or `policy` for each env at
    once."""
    fleet.refresh(force=True)
    records = [EpisodeRecord(_task_id(task)) for task in tasks]
    deadline = time.monotonic() + lease_wait            # one wait for the whole batch, not one per slot
    slots = [fleet.lease(wait_seconds=max(deadline - time.monotonic(), 0.0)) for _ in tasks]
    episodes: list[_Episode] = []
    for record, task, slot in zip(records, tasks, slots):
        if slot is None:
            _no_slot(record, lease_wait)
        else:
            record.slot = slot
            episodes.append(_Episode(envs.env(slot), task, record))
    try:
        _lockstep_rounds(episodes, batch_policy or _batched(policy), max_steps)
    finally:
        for slot, record in zip(slots, records):
            if slot is not None:
                fleet.release(slot, record.env_error)
    return records


def _batched(policy: Policy) -> BatchPolicy:
    def batch_policy(batch: list) -> list:
        with ThreadPoolExecutor(max(len(batch), 1), thread_name_prefix="policy") as calls:
            return list(calls.map(policy, batch))
    return batch_policy


def _lockstep_rounds(episodes: list[_Episode], batch_policy: BatchPolicy, max_steps: int) -> None:
    width = max(len(episodes), 1)
    with ThreadPoolExecutor(width, thread_name_prefix="lockstep") as calls, \
            ThreadPoolExecutor(width, thread_name_prefix="evaluate") as evaluations:
        list(calls.map(lambda episode: episode.reset(max_steps), episodes))
        pending = [evaluations.submit(e.evaluate) for e in episodes if not e.running]
        for _ in range(max_steps):
            active = [episode for episode in episodes if episode.running]
            if not active:
                break
            predictions = batch_policy([episode.result.obs_messages for episode in active])
            list(calls.map(lambda pair: pair[0].step(pair[1]), zip(active, predictions)))
            pending += [evaluations.submit(e.evaluate) for e in active if not e.running]
        for episode in episodes:
            if episode.running:                      # the daemon's max_steps was not reached: not expected
                episode.record.env_error = {"code": "not_done", "message": f"episode still running after "
                                            f"{max_steps} rounds; the daemon's max_steps is higher"}
                pending.append(evaluations.submit(episode.evaluate))
        for future in pending:
            future.result()


def _no_slot(record: EpisodeRecord, waited: float) -> EpisodeRecord:
    record.env_error = {"code": "no_free_env",
                        "message": f"no env of the fleet was free within {waited:.0f} s (daemons down, envs "
                                   "recovering, or all leased); see `python -m cluster status`"}
    record.started = record.ended = time.monotonic()
    return record


def _task_id(task: dict) -> str:
    return str(task.get("id", "?"))
