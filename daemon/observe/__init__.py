"""What the daemon sees of its envs: Prometheus metrics, live state for the dashboard, trajectory
recording."""
from .observer import Observer

__all__ = ["Observer"]
