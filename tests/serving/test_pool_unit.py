"""The pool (daemon/pool.py) against a fake worker: no subprocess, no VM, no simulator. The fake plays the
worker's side of the frames (WorkerHandle.receive / went_away) from a script; all else is the real pool:
routing, busy answers, evaluate attach, deadlines, recovery, the watchdog and the env's phase moves."""
from __future__ import annotations

import asyncio
import json

import pytest
from tornado.iostream import StreamClosedError

from daemon import config
from daemon.pool import Pool, WorkerHandle
from daemon.worker.states import Phase

# op → the phases the worker publishes, then its answer's status and body (a real worker moves the same way)
SCRIPT = {
    "reset": ([Phase.RESETTING, Phase.RUNNING], 200, b'{"episode_id": "e1"}'),
    "step": ([Phase.RUNNING], 200, b'{"step_idx": 0}'),
    "evaluate": ([Phase.DONE], 200, b"1.0"),
    "history": ([], 200, b'{"history_messages": []}'),
    "recover": ([Phase.RECOVERING, Phase.IDLE], 200, b'{"recovered": true}'),
}
FAILED_RECOVERY = ([Phase.RECOVERING, Phase.BROKEN], 502, b'{"error": {"code": "vm_failed"}}')


class FakeWorker(WorkerHandle):
    """The real handle with a scripted worker behind it instead of a process."""

    def __init__(self, env_idx: int, config_path: str):
        super().__init__(env_idx, config_path)
        self.up = False
        self.spawns = 0
        self.worker_phase = Phase.IDLE
        self.ops: list[str] = []                     # what reached the worker, in order
        self.script = dict(SCRIPT)                   # a test changes an op's behaviour here
        self.failing_recoveries = 0
        self.held: dict[str, asyncio.Event] = {}     # ops that answer only once their event is set
        self.phases: list[Phase] = []                # every phase the pool's handle went through

    def set_phase(self, phase: Phase) -> None:
        super().set_phase(phase)
        if not self.phases or self.phases[-1] is not phase:
            self.phases.append(phase)

    def spawn(self, adopt: bool = False) -> None:
        self.up, self.worker_phase = True, Phase.IDLE
        self.spawns += 1
        self.receive({"id": None, "state": self.worker_state()}, b"")

    def alive(self) -> bool:
        return self.up

    def kill(self) -> None:
        self.up = False

    async def stop(self) -> None:
        self.up = False

    async def send(self, header: dict) -> None:
        if not self.up:
            raise StreamClosedError()
        self.ops.append(header["op"])
        asyncio.ensure_future(self.work(header))

    async def work(self, header: dict) -> None:
        op = header["op"]
        moves, status, body = self.script[op]
        if op == "recover" and self.failing_recoveries:
            self.failing_recoveries -= 1
            moves, status, body = FAILED_RECOVERY
        for phase in moves:
            self.worker_phase = phase
            self.receive({"id": None, "state": self.worker_state()}, b"")
        if op in self.held:
            await self.held[op].wait()
        if self.up:
            state = self.worker_state()
            answer = {"id": header["id"], "status": status, "state": state, "report": {"op": op}}
            if status >= 400:               # as the real worker: an error answer's code rides in the header
                answer["code"] = json.loads(body)["error"]["code"]
            self.receive(answer, body)

    def worker_state(self) -> dict:
        return {"phase": self.worker_phase.value, "episode_id": None, "steps": 0, "warm": False,
                "last_error": None}

    def die(self) -> None:
        self.up = False
        self.went_away()


@pytest.fixture
def settings(tmp_path):
    path = tmp_path / "daemon.yaml"
    path.write_text(json.dumps({
        "envs": [{"vmx": str(tmp_path / "vm0.vmx")}, {"vmx": str(tmp_path / "vm1.vmx")}],
        "vmware": {"vmrun": str(tmp_path / "no-vmrun")}, "run_dir": str(tmp_path / "run"),
        "evaluation": {"cache_dir": str(tmp_path / "cache")},
        "pool": {"recovery_backoff": [0.01, 0.01], "watchdog_seconds": 0.1, "broken_retry_seconds": 0.1}}))
    return config.load(path)


def run(settings, scenario) -> None:
    """Runs scenario(pool) on a started pool of fake workers, then drains it."""
    async def main():
        pool = Pool(settings, FakeWorker)
        pool.start()
        try:
            await scenario(pool)
        finally:
            await pool.drain_and_stop(1)
    asyncio.run(main())


async def until(predicate, what: str, within: float = 10.0) -> None:
    for _ in range(int(within / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(what)


async def start_held(pool, env_idx: int, op: str) -> asyncio.Future:
    """Starts `op` on an env whose worker holds its answer until held[op] is set; returns once it is there."""
    handle = pool.handles[env_idx]
    handle.held[op] = asyncio.Event()
    call = asyncio.ensure_future(pool.call(env_idx, op, {}))
    await until(lambda: op in handle.ops, f"the {op} reached the worker")
    return call


def error_code(reply) -> str:
    return json.loads(reply.body)["error"]["code"]


def test_each_call_reaches_its_own_env_and_health_shows_the_phase_the_worker_reported(settings):
    async def scenario(pool):
        assert [env["phase"] for env in pool.health()] == ["idle", "idle"]
        reply = await pool.call(1, "reset", {})
        assert reply.status == 200 and reply.body == b'{"episode_id": "e1"}'
        assert reply.report == {"op": "reset"}
        assert (await pool.call(1, "evaluate", {})).body == b"1.0"
        assert pool.handles[0].ops == [] and pool.handles[1].ops == ["reset", "evaluate"]
        assert [env["phase"] for env in pool.health()] == ["idle", "done"]
        assert pool.handles[1].phases == [Phase.IDLE, Phase.RESETTING, Phase.RUNNING, Phase.DONE]
    run(settings, scenario)


def test_a_second_request_while_one_runs_is_answered_409_and_never_reaches_the_worker(settings):
    async def scenario(pool):
        handle = pool.handles[0]
        reset = await start_held(pool, 0, "reset")
        busy = await pool.call(0, "step", {})
        assert busy.status == 409 and error_code(busy) == "env_busy"
        assert pool.health()[0]["busy"] == "reset" and pool.busy_count() == 1
        assert (await pool.call(1, "reset", {})).status == 200         # the other env is not held up
        handle.held["reset"].set()
        assert (await reset).status == 200
        assert handle.ops == ["reset"] and pool.health()[0]["busy"] is None
    run(settings, scenario)


def test_a_repeated_evaluate_gets_the_answer_of_the_one_in_flight(settings):
    async def scenario(pool):
        handle = pool.handles[0]
        assert (await pool.call(0, "reset", {})).status == 200
        first = await start_held(pool, 0, "evaluate")
        again = asyncio.ensure_future(pool.call(0, "evaluate", {}))
        await asyncio.sleep(0)                  # the second evaluate attaches to the first one's answer
        handle.held["evaluate"].set()
        assert (await first).body == (await again).body == b"1.0"
        assert handle.ops == ["reset", "evaluate"]
    run(settings, scenario)


def test_a_worker_that_dies_mid_step_is_answered_503_replaced_and_its_vm_recovered(settings):
    async def scenario(pool):
        handle = pool.handles[0]
        await pool.call(0, "reset", {})
        step = await start_held(pool, 0, "step")
        handle.held["recover"] = asyncio.Event()
        handle.die()
        reply = await step
        assert reply.status == 503 and error_code(reply) == "worker_died" and reply.headers["Retry-After"]
        await until(lambda: handle.ops[-1:] == ["recover"], "the new worker was asked to recover")
        refused = await pool.call(0, "reset", {})
        assert refused.status == 503 and error_code(refused) == "env_recovering"
        assert pool.health()[0]["recovery_reason"] == "worker_died"
        handle.held["recover"].set()
        await until(lambda: handle.phase is Phase.IDLE, "recovered")
        assert handle.spawns == 2 and pool.health()[0]["recovery_reason"] is None
        assert handle.phases == [Phase.IDLE, Phase.RESETTING, Phase.RUNNING, Phase.RECOVERING, Phase.IDLE]
        assert (await pool.call(0, "reset", {})).status == 200
    run(settings, scenario)


def test_a_worker_that_dies_while_idle_is_replaced(settings):
    async def scenario(pool):
        handle = pool.handles[1]
        handle.die()
        await until(lambda: handle.spawns == 2 and handle.phase is Phase.IDLE, "replaced")
        assert handle.ops == ["recover"] and handle.phases == [Phase.IDLE, Phase.RECOVERING, Phase.IDLE]
    run(settings, scenario)


def test_a_lost_guest_is_recovered_in_place_and_an_answer_500_replaces_the_worker(settings):
    async def scenario(pool):
        lost, crashed = pool.handles
        await pool.call(0, "reset", {})
        lost.script["step"] = ([Phase.GUEST_LOST], 502, b'{"error": {"code": "guest_lost"}}')
        assert (await pool.call(0, "step", {})).status == 502
        await until(lambda: lost.phase is Phase.IDLE, "recovered")
        assert lost.spawns == 1 and lost.ops == ["reset", "step", "recover"]
        assert lost.phases == [Phase.IDLE, Phase.RESETTING, Phase.RUNNING, Phase.GUEST_LOST, Phase.RECOVERING,
                               Phase.IDLE]
        crashed.script["history"] = ([], 500, b'{"error": {"code": "worker_error"}}')
        assert (await pool.call(1, "history", {})).status == 500
        await until(lambda: crashed.spawns == 2 and crashed.phase is Phase.IDLE, "replaced")
    run(settings, scenario)


def test_failed_recoveries_leave_the_env_broken_until_the_watchdog_tries_again(settings):
    async def scenario(pool):
        handle = pool.handles[0]
        handle.failing_recoveries = 4            # the first series of three attempts and the watchdog's first
        handle.die()
        await until(lambda: handle.failing_recoveries == 1 and not handle.recovery_running(), "given up")
        reply = await pool.call(0, "reset", {})
        assert reply.status == 503 and "broken" in json.loads(reply.body)["error"]["message"]
        assert pool.health()[0]["phase"] == "broken"
        await until(lambda: handle.phase is Phase.IDLE, "recovered by the watchdog's second series")
        assert handle.phases == [Phase.IDLE, Phase.RECOVERING, Phase.BROKEN, Phase.IDLE]
        assert pool.health()[0]["recovery_reason"] is None
    run(settings, scenario)


def test_a_draining_pool_refuses_new_work(settings):
    async def scenario(pool):
        pool.draining = True
        reply = await pool.call(0, "reset", {})
        assert reply.status == 503 and error_code(reply) == "shutting_down"
        assert pool.handles[0].ops == []
    run(settings, scenario)
