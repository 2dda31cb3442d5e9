"""Metrics by OSWorld name, one module per app or format, each declared where it is defined (registry.py)."""
from ..registry import METRICS
from . import (
    apps,
    audio,
    chrome,
    desktop,
    general,
    html,
    images,
    pdf,
    refused,
    slides,
    spreadsheet,
    text,
    writer,
    writer_formatting,
)

__all__ = ["METRICS", "apps", "audio", "chrome", "desktop", "general", "html", "images", "pdf", "refused",
           "slides", "spreadsheet", "text", "writer", "writer_formatting"]
