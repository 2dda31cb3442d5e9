"""Task setup, getters, metrics and OSWorld's scoring skeleton, without desktop-env (docs/architecture.md).

Import what you use from its module: admission (the check at reset), evaluate (scoring), steps (run_setup),
context (TaskContext, SetupError). This package imports nothing itself, so the HTTP side does not load the
scoring code.
"""
