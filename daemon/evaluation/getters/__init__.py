"""Getters: what a metric compares, from the guest (files, commands, Chrome, app settings) or the task."""
from ..registry import GETTERS
from . import apps, chrome, general
from .general import ResultMissing

__all__ = ["GETTERS", "apps", "chrome", "general", "ResultMissing"]
