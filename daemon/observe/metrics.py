"""The daemon's Prometheus metrics, in a registry of its own (never the process-global one).

Counters and histograms are fed by the Observer from worker reports; env phases and the tunnel are read at
scrape time (from the pool's memory and the tunnel's status file), so they are never stale.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..http.status import read_tunnel_status

PHASES = ("starting", "idle", "resetting", "running", "done", "recovering", "broken")
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 150.0)
LONG_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)


class Metrics:
    def __init__(self, pool, tunnel_status_file: str):
        self.registry = CollectorRegistry(auto_describe=True)
        self.step = Histogram("osworld_step_duration_seconds", "Step time by part (queue: until the worker "
                              "starts; total: as the daemon saw it)", ["env", "part"], buckets=STEP_BUCKETS,
                              registry=self.registry)
        self.reset = Histogram("osworld_reset_duration_seconds", "Reset time (warm: the VM was reset ahead)",
                               ["warm"], buckets=LONG_BUCKETS, registry=self.registry)
        self.evaluate = Histogram("osworld_evaluate_duration_seconds", "Evaluation time",
                                  buckets=LONG_BUCKETS, registry=self.registry)
        self.requests = Counter("osworld_requests", "HTTP requests by route and status code",
                                ["route", "code"], registry=self.registry)
        self.episodes = Counter("osworld_episodes", "Finished episodes by outcome", ["outcome"],
                                registry=self.registry)
        self.recoveries = Counter("osworld_recoveries", "Worker replacements by env and cause",
                                  ["env", "cause"], registry=self.registry)
        self.response_bytes = Counter("osworld_response_bytes", "Bytes of env answers (before transfer "
                                      "compression)", ["route"], registry=self.registry)
        self.trajectory_drops = Counter("osworld_trajectory_writes_dropped",
                                        "Trajectory writes dropped because the writer queue was full",
                                        registry=self.registry)
        self.registry.register(_LiveCollector(pool, tunnel_status_file))

    def observe_step(self, env_idx: int, parts: dict[str, float]) -> None:
        for part, seconds in parts.items():
            self.step.labels(str(env_idx), part).observe(seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector:
    """Gauges read when Prometheus scrapes: one per env and phase (1 for the current one), and the tunnel."""

    def __init__(self, pool, tunnel_status_file: str):
        self.pool, self.tunnel_status_file = pool, tunnel_status_file

    def describe(self):
        return []

    def collect(self):
        phases = GaugeMetricFamily("osworld_env_phase", "1 for the phase each env is in",
                                   labels=["env", "phase"])
        for env in self.pool.health():
            known = PHASES if env["phase"] in PHASES else (*PHASES, env["phase"])
            for phase in known:
                phases.add_metric([str(env["env_idx"]), phase], 1.0 if env["phase"] == phase else 0.0)
        yield phases
        tunnel = read_tunnel_status(self.tunnel_status_file)
        up = tunnel is not None and tunnel.get("state") == "connected" and not tunnel.get("stale")
        yield GaugeMetricFamily("osworld_tunnel_up", "1 while the tunnel is connected (status file fresh)",
                                value=1.0 if up else 0.0)
        reconnects = float((tunnel or {}).get("reconnects") or 0)
        yield CounterMetricFamily("osworld_tunnel_reconnects",
                                  "Tunnel rebuilds since the tunnel process started", value=reconnects)
