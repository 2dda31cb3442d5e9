"""Task setup, getters, metrics and OSWorld's scoring skeleton, without desktop-env."""
from .capabilities import missing_capabilities
from .task_shape import shape_problems
from .context import SetupError, TaskContext
from .evaluate import evaluate_task
from .setup import run_setup

__all__ = ["missing_capabilities", "shape_problems", "SetupError", "TaskContext", "evaluate_task", "run_setup"]
