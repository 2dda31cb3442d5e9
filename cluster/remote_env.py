"""RemoteEnv: one env of one daemon over HTTP, as the trainer sees it.

- One kept-alive `requests.Session` per env (no new TCP connection, and no new tunnel channel, per call).
- Every step carries `env_idx`, `episode_id` and `step_idx`, so a retried step returns the daemon's stored
  answer instead of acting twice; connection errors, timeouts, 503 (after its Retry-After) and 409 env_busy
  (the first attempt still running) are retried within a bounded budget of attempts and seconds.
- The episode runs with `history: delta` and the full history is rebuilt here: `obs_messages` of every result
  is exactly the list the seed protocol would have sent, and `history_messages()` what /env/history_messages
  holds.
- Before the token is sent anywhere, the daemon must prove it knows it (HMAC of a fresh nonce on GET /health),
  again at every reset and after any connection failure (whoever answers the port next may be someone else).
- A failure of the environment, not of the agent, comes back as `env_error` {"code", "message"}: the trainer
  masks that sample instead of scoring it (the seed scored it format_reward -1.0).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

import requests

from .address import NONCE_HEADER, PROOF_HEADER, DaemonAddress, new_nonce

log = logging.getLogger("cluster.remote_env")

RETRYABLE_STATUS = {503}
RETRYABLE_CODES = {"env_busy"}            # 409: our earlier attempt is still running on the daemon
EPISODE_GONE_CODES = {"guest_lost", "episode_lost"}   # 502s of a step that retrying cannot mend
LOST_EPISODE_CODES = {"no_episode", "wrong_episode"}


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    reset: float = 1200.0                 # the seed's values: a cold reset of a real VM takes minutes
    step: float = 300.0
    evaluate: float = 300.0
    health: float = 10.0


@dataclass(frozen=True)
class RetryBudget:
    attempts: int = 6                     # per call, first try included
    seconds: float = 120.0                # per call, waits included
    backoff: tuple = (0.5, 1.0, 2.0, 4.0, 8.0)
    max_retry_after: float = 30.0         # a Retry-After above this is cut to it

    def pause(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff[min(attempt, len(self.backoff) - 1)]


class EnvFault(Exception):
    """The environment (daemon, VM, tunnel, network), not the agent, failed."""

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass
class EnvResult:
    """One reset or step. `obs_messages`: the full history (None when done or failed), as the seed sent it."""
    env_idx: int
    obs_messages: list | None
    is_done: bool
    format_reward: float = 0.0
    episode_id: str | None = None
    step_idx: int = 0
    env_error: dict | None = None
    warnings: list = field(default_factory=list)

    @property
    def masked(self) -> bool:
        return self.env_error is not None


@dataclass
class Evaluation:
    score: float | None
    env_error: dict | None = None


class RemoteEnv:
    def __init__(self, address: DaemonAddress, env_idx: int = 0, timeouts: Timeouts = Timeouts(),
                 retry: RetryBudget = RetryBudget(), reset_options: dict | None = None):
        self.address, self.env_idx = address, env_idx
        self.timeouts, self.retry = timeouts, retry
        # e.g. {"image_format": "jpeg", "jpeg_quality": 85}
        self.reset_options = dict(reset_options or {})
        self.session = requests.Session()
        self.verified = False
        self.episode_id: str | None = None
        self.step_idx = 0
        self.done = True
        self.messages: list[dict] = []

    def __repr__(self) -> str:
        return f"RemoteEnv({self.address.display} env {self.env_idx})"

    # --- episode --------------------------------------------------------------------------------------------
    def reset(self, task_config: dict, max_steps: int | None = None) -> EnvResult:
        """A new episode. The daemon proves itself again first:
        it may have restarted since the last episode."""
        self.episode_id, self.step_idx, self.done, self.messages = None, 0, True, []
        self.verified = False
        body = {**self.reset_options, "env_idx": self.env_idx, "task_config": task_config, "history": "delta"}
        if max_steps is not None:
            body["max_steps"] = max_steps
        try:
            answer = self._post("/env/reset", body, self.timeouts.reset)
        except EnvFault as fault:
            return self._failed(fault)
        self.episode_id, self.step_idx, self.done = answer.get("episode_id"), answer.get("step_idx", 0), False
        self.messages = list(answer["obs_messages"])
        return self._result(answer)

    def step(self, prediction: str) -> EnvResult:
        if self.episode_id is None or self.done:
            return self._failed(EnvFault("no_episode",
                                         f"{self}: step without a running episode; reset first"))
        body = {"env_idx": self.env_idx, "prediction": prediction, "episode_id": self.episode_id,
                "step_idx": self.step_idx}
        try:
            answer = self._post("/env/step", body, self.timeouts.step, retry_502=True)
        except EnvFault as fault:
            self.done = True
            return self._failed(fault)
        self.step_idx, self.done = answer.get("step_idx", self.step_idx + 1), bool(answer["is_done"])
        self.messages += (answer.get("final_messages") or []) if self.done else answer["obs_messages"]
        return self._result(answer)

    def evaluate(self) -> Evaluation:
        if self.episode_id is None:
            return Evaluation(None, EnvFault("no_episode", f"{self}: evaluate without an episode").as_dict())
        try:
            score = self._post("/env/evaluate", {"env_idx": self.env_idx, "episode_id": self.episode_id},
                               self.timeouts.evaluate)
        except EnvFault as fault:
            return Evaluation(None, fault.as_dict())
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            return Evaluation(None, {"code": "bad_answer", "message": f"{self}: evaluate answered {score!r}, "
                                     "not a number; is this an OSWorld env daemon?"})
        return Evaluation(float(score))

    def history_messages(self) -> list[dict]:
        """The episode's full history, final assistant message included
        (what /env/history_messages returns)."""
        return list(self.messages)

    def close(self) -> None:
        self.session.close()

    # --- daemon identity ------------------------------------------------------------------------------------
    def verify(self) -> None:
        """GET /health with a nonce and no token; the answer must carry the HMAC that only the token's holder
        can compute. Raises EnvFault('untrusted_daemon') otherwise (the token is not sent)."""
        self.verified = False
        nonce = new_nonce()
        try:
            response = self.session.get(self.address.url("/health"), headers={NONCE_HEADER: nonce},
                                        timeout=(self.timeouts.connect, self.timeouts.health))
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise EnvFault("daemon_unreachable", f"{self.address.display} did not answer /health: "
                           f"{type(exc).__name__}; is the daemon (and its tunnel) up?") from None
        if not self.address.proof_matches(nonce, response.headers.get(PROOF_HEADER)):
            raise EnvFault("untrusted_daemon", f"{self.address.display} answered /health without a valid "
                           "proof of the token: another program holds this port, or the token is not this "
                           "daemon's (<run_dir>/auth-token on the Mac); the token was not sent")
        self.verified = True

    def health(self) -> dict:
        """The daemon's authenticated /health (envs, tunnel), after checking its proof."""
        return get_health(self)

    # --- HTTP with retries ----------------------------------------------------------------------------------
    def _post(self, path: str, body: dict, timeout: float, retry_502: bool = False):
        """`retry_502`: a failed step changed nothing on the daemon (the same step_idx may be sent again),
        unless its episode is gone."""
        started = time.monotonic()
        fault: EnvFault | None = None
        for attempt in range(self.retry.attempts):
            retry_after = None
            try:
                return self._post_once(path, body, timeout, retry_502)
            except _Retryable as exc:
                fault, retry_after = exc.fault, exc.retry_after
            pause = self.retry.pause(attempt, retry_after)
            if attempt + 1 >= self.retry.attempts or time.monotonic() - started + pause > self.retry.seconds:
                break
            log.info("%s: %s %s (%s); retrying in %.1f s", self, path, fault.code, fault.message, pause)
            time.sleep(pause)
        raise EnvFault(fault.code, f"{fault.message} (gave up after {attempt + 1} attempt(s) in "
                       f"{time.monotonic() - started:.0f} s)", fault.status)

    def _post_once(self, path: str, body: dict, timeout: float, retry_502: bool):
        try:
            if not self.verified:
                self.verify()
            response = self.session.post(self.address.url(path), data=json.dumps(body),
                                         headers={"Content-Type": "application/json",
                                                  **self.address.auth_headers()},
                                         timeout=(self.timeouts.connect, timeout))
        except EnvFault as fault:
            if fault.code == "daemon_unreachable":
                raise _Retryable(fault) from None
            raise
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.verified = False
            raise _Retryable(EnvFault("daemon_unreachable",
                                      f"{self.address.display}{path} env {self.env_idx}: "
                                      f"{type(exc).__name__}; is the daemon (and its tunnel) up?")) from None
        if response.status_code == 200:
            return _json(response, self, path)
        fault = _fault_of(response, self, path)
        if response.status_code in RETRYABLE_STATUS or fault.code in RETRYABLE_CODES or \
                (retry_502 and response.status_code == 502 and fault.code not in EPISODE_GONE_CODES):
            raise _Retryable(fault, _retry_after(response))
        raise fault

    # --- results --------------------------------------------------------------------------------------------
    def _result(self, answer: dict) -> EnvResult:
        return EnvResult(self.env_idx, None if self.done else list(self.messages), self.done,
                         float(answer.get("format_reward", 0.0)), self.episode_id, self.step_idx,
                         warnings=answer.get("warnings") or [])

    def _failed(self, fault: EnvFault) -> EnvResult:
        log.warning("%s episode %s: environment failure %s: %s", self, self.episode_id, fault.code,
                    fault.message)
        return EnvResult(self.env_idx, None, True, 0.0, self.episode_id, self.step_idx, fault.as_dict())


class _Retryable(Exception):
    def __init__(self, fault: EnvFault, retry_after: float | None = None):
        super().__init__(fault.message)
        self.fault, self.retry_after = fault, retry_after


def get_health(env: RemoteEnv) -> dict:
    """Authenticated GET /health through `env`'s session
    (proof first, every time; one attempt: callers poll)."""
    env.verify()
    try:
        response = env.session.get(env.address.url("/health"), headers=env.address.auth_headers(),
                                   timeout=(env.timeouts.connect, env.timeouts.health))
    except (requests.ConnectionError, requests.Timeout) as exc:
        env.verified = False
        raise EnvFault("daemon_unreachable", f"{env.address.display}/health: {type(exc).__name__}; is the "
                       "daemon (and its tunnel) up?") from None
    if response.status_code != 200:
        raise _fault_of(response, env, "/health")
    return _json(response, env, "/health")


def _json(response: requests.Response, env: RemoteEnv, path: str):
    try:
        return response.json()
    except ValueError:
        raise EnvFault("bad_answer", f"{env.address.display}{path} answered {response.status_code} with a "
                       "body that is not JSON; is this an OSWorld env daemon?",
                       response.status_code) from None


def _fault_of(response: requests.Response, env: RemoteEnv, path: str) -> EnvFault:
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = f"http_{response.status_code}", response.text[:300]
    if response.status_code == 401:
        message += " (the token was refused: copy the daemon's <run_dir>/auth-token again)"
    return EnvFault(code, f"{env.address.display}{path} env {env.env_idx}: {response.status_code} {message}",
                    response.status_code)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return float(value)
    except ValueError:
        return None
