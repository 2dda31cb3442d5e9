"""Ray: an env actor per fleet slot, and a drop-in for ARPO's RemoteEnvWorker.

`RayEnvs` is the backend of cluster.rollout's loops that runs each slot's RemoteEnv in its own actor, spread
over the Ray cluster's nodes (the actors only wait on HTTP: they ask for no CPU). `ArpoEnvWorker` has the
method surface of the RemoteEnvWorker ARPO's trainer drives (`reset`, `step`, `evaluate`,
`get_history_messages`, `is_done`, `is_init`); its answers carry the worker's own index as `env_idx`, as the
trainer indexes its lists with it. Each reset leases a free slot from one `EnvFleet` actor shared by all
workers, so a Mac that goes down costs the episodes it was running (returned with `env_error`, for the trainer
to mask) and nothing after.
"""
from __future__ import annotations

import ray

from .address import DaemonAddress
from .fleet import EnvFleet, Slot
from .remote_env import EnvResult, Evaluation, RemoteEnv, RetryBudget, Timeouts
from .rollout import LocalEnvs, SlotEnvs

ACTOR_OPTIONS = {"num_cpus": 0, "scheduling_strategy": "SPREAD"}


class EnvActor:
    """One slot's RemoteEnv inside a Ray actor."""

    def __init__(self, slot: Slot, timeouts: Timeouts, retry: RetryBudget, reset_options: dict | None):
        self.env = RemoteEnv(slot.address, slot.env_idx, timeouts, retry, reset_options)

    def reset(self, task_config: dict, max_steps: int | None = None) -> EnvResult:
        return self.env.reset(task_config, max_steps)

    def step(self, prediction: str) -> EnvResult:
        return self.env.step(prediction)

    def evaluate(self) -> Evaluation:
        return self.env.evaluate()

    def history_messages(self) -> list:
        return self.env.history_messages()


class _ActorEnv:
    """The synchronous face of an EnvActor, for the rollout loops' threads. An actor lost with its node is an
    environment failure like any other: the episode comes back masked."""

    def __init__(self, actor, slot: Slot):
        self.actor, self.slot = actor, slot

    def reset(self, task_config: dict, max_steps: int | None = None) -> EnvResult:
        return self._get(self.actor.reset.remote(task_config, max_steps), EnvResult)

    def step(self, prediction: str) -> EnvResult:
        return self._get(self.actor.step.remote(prediction), EnvResult)

    def evaluate(self) -> Evaluation:
        return self._get(self.actor.evaluate.remote(), Evaluation)

    def history_messages(self) -> list:
        return self._get(self.actor.history_messages.remote(), list)

    def _get(self, reference, kind):
        try:
            return ray.get(reference)
        except ray.exceptions.RayActorError as exc:
            error = {"code": "actor_lost", "message": f"the Ray actor of {self.slot} died "
                                                      f"({type(exc).__name__}); its node may be gone"}
            if kind is EnvResult:
                return EnvResult(self.slot.env_idx, None, True, 0.0, env_error=error)
            return Evaluation(None, error) if kind is Evaluation else []


class RayEnvs(SlotEnvs):
    """Backend for cluster.rollout: an EnvActor per slot, created on first use."""

    def __init__(self, timeouts: Timeouts = Timeouts(), retry: RetryBudget = RetryBudget(),
                 reset_options: dict | None = None):
        super().__init__(timeouts, retry, reset_options)
        self.remote_class = ray.remote(EnvActor).options(**ACTOR_OPTIONS)

    def make(self, slot: Slot) -> _ActorEnv:
        return _ActorEnv(self.remote_class.remote(slot, *self.options), slot)

    def close(self) -> None:
        for env in self.envs.values():
            ray.kill(env.actor)
        self.envs.clear()


class ArpoEnvWorker:
    """What ARPO's trainer calls on each env worker. Create with `create_arpo_workers`."""

    def __init__(self, worker_idx: int, fleet, max_steps: int | None = None, lease_wait: float = 600.0,
                 timeouts: Timeouts = Timeouts(), retry: RetryBudget = RetryBudget(),
                 reset_options: dict | None = None):
        self.worker_idx, self.fleet = worker_idx, fleet
        self.max_steps, self.lease_wait = max_steps, lease_wait
        self.envs = LocalEnvs(timeouts, retry, reset_options)    # one RemoteEnv (one session) per slot leased
        self.slot: Slot | None = None
        self.env: RemoteEnv | None = None
        self.last: EnvResult | None = None
        self.error: dict | None = None

    def reset(self, task_config: dict) -> dict:
        self._release()
        self.slot = ray.get(self.fleet.lease.remote(self.lease_wait))
        if self.slot is None:
            self.error = {"code": "no_free_env", "message": f"no env of the fleet was free within "
                          f"{self.lease_wait:.0f} s; see `python -m cluster status`"}
            self.last = EnvResult(-1, None, True, 0.0, env_error=self.error)
            return self._answer(self.last)
        self.env = self.envs.env(self.slot)
        self.last = self.env.reset(task_config, self.max_steps)
        self.error = self.last.env_error
        return self._answer(self.last)

    def step(self, prediction: str) -> dict:
        if self.env is None or self.last is None or self.last.is_done:
            return self._answer(EnvResult(-1, None, True, 0.0, env_error=self.error or {
                "code": "no_episode", "message": "step without a running episode"}))
        self.last = self.env.step(prediction)
        self.error = self.error or self.last.env_error
        return self._answer(self.last)

    def evaluate(self) -> float:
        """The score; 0.0 when the environment failed, with `env_error()` saying so (mask the sample)."""
        if self.env is None or self.error is not None:
            return 0.0
        evaluation = self.env.evaluate()
        self.error = evaluation.env_error
        if self.error is None:
            self._release()                          # the env is free for the next reset while we tokenize
        return 0.0 if evaluation.score is None else evaluation.score

    def get_history_messages(self) -> list:
        return self.env.history_messages() if self.env is not None else []

    def is_done(self) -> bool:
        return self.last is None or self.last.is_done

    def is_init(self) -> bool:
        return self.last is not None

    def env_error(self) -> dict | None:
        """Not None when this worker's current episode was lost to an infrastructure fault:
        mask its sample."""
        return self.error

    def _answer(self, result: EnvResult) -> dict:
        answer = {"env_idx": self.worker_idx, "obs_messages": result.obs_messages, "is_done": result.is_done,
                  "format_reward": result.format_reward}
        if result.env_error is not None:
            answer["env_error"] = result.env_error
        return answer

    def _release(self) -> None:
        if self.slot is not None:
            self.fleet.release.remote(self.slot, self.error)
            self.slot = None


def create_fleet_actor(daemons: list[DaemonAddress], recheck_seconds: float = 5.0):
    """One EnvFleet in an actor, shared by every ArpoEnvWorker (they lease from it). Threaded: a lease that
    waits for a free slot does not hold up the releases that free one."""
    return ray.remote(EnvFleet).options(num_cpus=0, max_concurrency=64).remote(daemons,
                                                                              recheck_seconds=recheck_seconds)


def create_arpo_workers(daemons: list[DaemonAddress], count: int, fleet=None, **worker_options) -> list:
    """`count` ArpoEnvWorker actors (index 0..count-1) spread over the cluster, leasing from one fleet."""
    fleet = fleet or create_fleet_actor(daemons)
    remote_class = ray.remote(ArpoEnvWorker).options(**ACTOR_OPTIONS)
    return [remote_class.remote(index, fleet, **worker_options) for index in range(count)]
