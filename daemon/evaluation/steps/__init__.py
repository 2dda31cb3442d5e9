"""Setup steps: a task's `config` and its evaluator's `postconfig`, run in the guest by `run_setup`."""
from ..registry import STEPS
from . import chrome, general
from .general import run_setup

__all__ = ["STEPS", "chrome", "general", "run_setup"]
