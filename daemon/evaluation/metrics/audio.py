"""check_mp3_meta: an MP3 file's ID3 tags against {method, ref} rules, as OSWorld's others.py reads them.

OSWorld reads the tags with mutagen's EasyID3 (ID3v2 frames under their easy names: title, artist, album...; a
name EasyID3 does not know reads as ""), joins a multi-valued tag with ",", and applies each rule with its
`_match_value_to_rule` (matching.value_matches here); every rule must hold. mutagen is needed (imported only
when a task is scored) because its tag reading is what is scored; without it the capability check refuses the
metric. A file without ID3 tags, or that cannot be read, scores 0.0.
"""
from __future__ import annotations

from ..registry import Need, metric
from .matching import value_matches

MUTAGEN = Need("docs", ("mutagen",), "needs mutagen, OSWorld's tag reader: pip install '.[docs]'")


@metric(needs=(MUTAGEN,))
def check_mp3_meta(result: str | None, rules: dict, **options) -> float:
    if result is None:
        return 0.0
    from mutagen import MutagenError  # optional: docs extra
    from mutagen.easyid3 import EasyID3  # optional: docs extra
    try:
        tags = EasyID3(result)
    except (MutagenError, OSError):
        return 0.0
    for name, rule in rules.items():                  # OSWorld stops at the first rule that fails
        value = tags.get(name, "")
        if not value_matches(",".join(value) if isinstance(value, list) else value, rule):
            return 0.0
    return 1.0
