"""Supervised operation: the launcher supervisord runs, its XML-RPC view for /health, the launchd agent."""
