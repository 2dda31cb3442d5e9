"""The trainer's side: envs of remote OSWorld env daemons, leased to episodes, from plain Python or from Ray.

Importable without the daemon's dependencies (tornado, paramiko); Ray is needed only by cluster.ray_rollout.
"""
from .address import AddressError, DaemonAddress, parse_daemons
from .fleet import EnvFleet, Slot
from .remote_env import EnvFault, EnvResult, Evaluation, RemoteEnv, RetryBudget, Timeouts
from .rollout import EpisodeRecord, LocalEnvs, run_episode, run_independent, run_lockstep

__all__ = ["AddressError", "DaemonAddress", "EnvFault", "EnvFleet", "EnvResult", "EpisodeRecord",
           "Evaluation", "LocalEnvs", "RemoteEnv", "RetryBudget", "Slot", "Timeouts", "parse_daemons",
           "run_episode", "run_independent", "run_lockstep"]
