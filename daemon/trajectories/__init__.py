"""Recorded episodes: the background writer (writer.py), reading them back (store.py), the CLI
(__main__.py)."""
from .store import find_episode, list_episodes, read_steps, training_record
from .writer import TrajectoryWriter

__all__ = ["TrajectoryWriter", "find_episode", "list_episodes", "read_steps", "training_record"]
