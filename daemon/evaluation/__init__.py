"""Task setup, getters, metrics and OSWorld's scoring skeleton, without desktop-env (see docs/architecture.md).

Import what you use from its module: admission (the check at reset), evaluate (scoring), steps (run_setup),
context (TaskContext, SetupError). This package imports nothing itself, so the HTTP side loads only the admission
check and the worker only what scoring needs.
"""
