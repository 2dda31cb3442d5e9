"""Can this install run a task? Pure and fast: reset answers 422 with this list before any VM time is spent."""
from __future__ import annotations

from ..guest import devtools
from .chrome_metrics import NEEDS_URL_EXTRA
from .getters import GETTERS
from .metrics import METRICS
from .setup import STEPS
from .task_shape import shape_problems
from . import (app_getters, apps, audio_tags, chrome_html, desktop_checks, documents,
               html_files, images, pdfs, slides, tables, text_files, urls)

# Metrics whose support depends on an optional extra and on the options a task passes them.
CONDITIONAL_METRICS = {
    "compare_table": tables.missing_for,
    **documents.CAPABILITY_CHECKS,                     # every Writer metric: python-docx (+ rapidfuzz), its options
    "compare_conference_city_in_order": lambda options: [] if tables.available() else
    [f"metric 'compare_conference_city_in_order' ({tables.EXTRA_HINT})"],
    **{name: (lambda options, name=name: slides.missing_for(options, name)) for name in slides.NEEDS_PPTX},
    **{name: (lambda options, name=name: images.missing_for(options, name)) for name in images.IMAGE_METRICS},
    **{name: (lambda options, name=name: pdfs.missing_for(options, name)) for name in pdfs.NEEDS},
    "compare_htmls": html_files.missing_for,
    **{name: (lambda options, name=name: text_files.library_gaps(name)) for name in text_files.LIBRARIES},
    "check_mp3_meta": audio_tags.missing_for,
    "check_accessibility_tree": lambda options: _extra_gap("metric 'check_accessibility_tree'",
                                                           desktop_checks.a11y_missing),
    "compare_archive": lambda options: text_files.archive_gaps(options, native_metric_gaps),   # its member metric
    **{name: (lambda options, name=name: _extra_gap(f"metric '{name}'", urls.extra_missing))
       for name in NEEDS_URL_EXTRA},
}

# Steps and getters that talk to Chrome through its DevTools port (or compare URLs): the chrome extra.
CHROME_EXTRA = {
    "chrome_open_tabs": devtools.extra_missing,
    "chrome_close_tabs": lambda: devtools.extra_missing() or urls.extra_missing(),
    "active_tab_info": devtools.extra_missing,
    "page_info": devtools.extra_missing,
    "open_tabs_info": devtools.extra_missing,
    "active_tab_html_parse": devtools.extra_missing,
    "pdf_from_url": devtools.extra_missing,
}

# Getters that read only some of the configurations OSWorld's accept.
GETTER_CONFIG_GAPS = {
    "active_tab_html_parse": chrome_html.config_gaps,
    "content_from_vm_file": app_getters.content_gaps,
}


def _extra_gap(what: str, why_missing) -> list[str]:
    why = why_missing()
    return [f"{what} ({why})"] if why else []


KNOWN_ELSEWHERE = {
    "login": "needs Google account credentials (not supported)",
    "googledrive": "needs Google Drive credentials (not supported)",
}

# Metrics OSWorld has that we do not score, and why (named in the refusal).
METRICS_NOT_HERE = {
    "check_python_file_by_test_suite": "refused: it would run code from the VM on the host",
    "compare_audios": "needs librosa: too heavy a dependency, not supported",
    "compare_videos": "needs OpenCV: too heavy a dependency, not supported",
    "compare_image_text": "needs easyocr: too heavy a dependency, not supported",
}
RUNS_VM_CODE = {"check_python_file_by_test_suite"}      # refused even when desktop-env's metrics are configured
# What desktop-env may be asked to score: the OSWorld metrics we know of, never one that runs VM code.
DESKTOP_ENV_METRICS = frozenset(set(METRICS) | set(METRICS_NOT_HERE)) - RUNS_VM_CODE


# The keys of a `rule` getter's rules that each metric reads; a task passing others would be scored wrongly.
RULE_KEYS = {
    "exact_match": {"expected"},
    "check_include_exclude": {"include", "exclude"},
    "check_direct_json_object": {"expected", "expect_in_result", "ignore_list_order",
                                 "result_not_list"},      # OSWorld does not read result_not_list either
    "check_list": {"expect", "unexpect"},
    "check_json_settings": {"expected"},
    "is_extension_installed": {"type", "expected"},
    "check_transition": {"slide_idx", "transition_type"},
    "check_auto_saving_time": {"minutes"},
    "evaluate_presentation_fill_to_rgb_distance": {"rgb", "original_rgb"},
    "check_page_number_colors": {"color"},
    "check_image_size": {"height", "width", "ignore_transparent"},
    "check_image_file_size": {"max_size"},
    "check_config_status": {"type:", "key", "value"},      # "type:" (sic, in real tasks) is not read
    "compare_font_names": {"font_name"},
    "find_default_font": {"font_name"},
    "contains_page_break": {"page_break_count"},
    "compare_conference_city_in_order": {"expected"},
    "check_pdf_pages": {"relation", "ref_value"},
    "fuzzy_place_math": {"expected"},
    **apps.APP_RULE_KEYS,
    **desktop_checks.DESKTOP_RULE_KEYS,
    **text_files.TEXT_FILE_RULE_KEYS,
}


def rule_key_gaps(name: str, expected) -> list[str]:
    rules = expected.get("rules") if isinstance(expected, dict) and expected.get("type") == "rule" else None
    each = rules if isinstance(rules, list) else [rules]           # some metrics take a list of rule objects
    if name not in RULE_KEYS or not all(isinstance(rule, dict) for rule in each):
        return []
    keys = set().union(*each)
    return [f"metric '{name}' rule '{key}' (not implemented)" for key in sorted(keys - RULE_KEYS[name])]


def native_metric_gaps(name: str, options) -> list[str]:
    """What our own implementation of a metric lacks for these options (empty: we score it here)."""
    if name in CONDITIONAL_METRICS:
        return CONDITIONAL_METRICS[name](options if isinstance(options, dict) else None)
    return [] if name in METRICS else [f"metric '{name}' ({METRICS_NOT_HERE.get(name, 'not implemented')})"]


def desktop_env_configured(settings) -> bool:
    return bool(settings is not None and settings.evaluation.get("desktop_env_python"))


def missing_capabilities(task_config: dict, settings=None) -> list[str]:
    problems = shape_problems(task_config, settings)
    if problems:
        return problems
    missing: list[str] = []
    evaluator = task_config.get("evaluator") or {}
    steps = list(task_config.get("config") or []) + list(evaluator.get("postconfig") or [])
    for step in steps:
        kind = step.get("type") if isinstance(step, dict) else None
        if kind not in STEPS:
            missing.append(f"setup step '{kind}' ({KNOWN_ELSEWHERE.get(kind, 'not implemented')})")
        elif kind in CHROME_EXTRA:
            missing += _extra_gap(f"setup step '{kind}'", CHROME_EXTRA[kind])
    funcs = evaluator.get("func")
    if funcs is None:
        missing.append("evaluator.func is missing")
    elif funcs != "infeasible":
        names = funcs if isinstance(funcs, list) else [funcs]
        options = evaluator.get("options")
        options = options if isinstance(options, list) else [options] * len(names)
        expecteds = evaluator.get("expected")
        expecteds = expecteds if isinstance(expecteds, list) else [expecteds] * len(names)
        external = desktop_env_configured(settings)    # with it, OSWorld's own metrics score what ours lack
        padded = options + [None] * (len(names) - len(options))
        for name, option, expected in zip(names, padded, expecteds + [None] * (len(names) - len(expecteds))):
            if not external or name not in DESKTOP_ENV_METRICS:
                missing += native_metric_gaps(name, option) + rule_key_gaps(name, expected)
        for key in ("result", "expected"):
            for getter in _getters(evaluator.get(key)):
                kind = getter.get("type") if isinstance(getter, dict) else None
                if kind not in GETTERS:
                    missing.append(f"getter '{kind}' (not implemented)")
                elif kind in CHROME_EXTRA:
                    missing += _extra_gap(f"getter '{kind}'", CHROME_EXTRA[kind])
                missing += GETTER_CONFIG_GAPS.get(kind, lambda config: [])(getter)
    return sorted(set(missing), key=missing.index)


def _getters(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
