"""Every row of the 87-prediction corpus has an asserted outcome,
and its code makes exactly the intended calls."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.actions import ActionOptions, compile_prediction

from .recorder import run_recorded

CORPUS = [json.loads(line)
          for line in (Path(__file__).parent.parent / "data" / "uitars_predictions.jsonl").open()]
SX, SY = 1920 / 1932, 1080 / 1092          # qwen25vl: smart-resized 1932x1092 space → 1920x1080 screen


def click(x, y, kind="click"):
    button, clicks = {"click": ("left", 1), "left_single": ("left", 1), "left_double": ("left", 2),
                      "right_single": ("right", 1)}[kind]
    return ("ok", [{"type": kind, "x": x * SX, "y": y * SY}], [("click", (round(x * SX), round(y * SY)),
                                                                 {"clicks": clicks, "button": button})])


def keys(kind, *names):
    function = {"hotkey": "hotkey", "press": "press", "keydown": "keyDown", "keyup": "keyUp"}[kind]
    return ("ok", [{"type": kind}], [(function, names, {})])


def typed(text):
    return ("ok", [{"type": "type"}], text)


ERROR = ("error", [], [])
CLICK_235 = click(235, 512)
CLICK_30 = click(30, 60)
SCROLL_AT = {"x": round(960 * SX), "y": round(540 * SY)}

# row → (outcome, expected actions (subset of keys), expected calls or the text the screen must receive)
EXPECTED = {
    0: CLICK_235, 1: CLICK_235, 2: CLICK_235, 3: click(960, 540, "left_double"),
    4: click(1500, 300, "right_single"),
    5: click(10, 10, "left_single"), 6: click(0, 0),
    7: ("ok", [{"type": "click", "x": 1919, "y": 1079}],
        [("click", (1919, 1079), {"clicks": 1, "button": "left"})]),
    8: ("ok", [{"type": "click", "x": 1919, "y": 1079}],
        [("click", (1919, 1079), {"clicks": 1, "button": "left"})]),
    9: ("ok", [{"type": "click", "x": 0, "y": 40 * SY}],
        [("click", (0, round(40 * SY)), {"clicks": 1, "button": "left"})]),
    10: click(200, 300), 11: click(30, 870), 12: ERROR, 13: ERROR, 14: CLICK_235, 15: click(235.5, 512.25),
    16: ("ok", [{"type": "drag", "x": 689 * SX, "y": 493 * SY, "x2": 710 * SX, "y2": 495 * SY}],
         [("moveTo", (round(689 * SX), round(493 * SY)), {}), ("mouseDown", (), {"button": "left"}),
          ("moveTo", (round(710 * SX), round(495 * SY)), {"duration": 0.5}),
          ("mouseUp", (), {"button": "left"})]),
    18: ERROR, 19: keys("hotkey", "ctrl", "c"), 20: keys("hotkey", "ctrl", "shift", "t"),
    21: keys("hotkey", "ctrl", "z"), 22: keys("hotkey", "down"), 23: keys("hotkey", "left"),
    24: keys("hotkey", "down"),
    25: keys("hotkey", "space"), 26: keys("hotkey", "enter"), 27: keys("hotkey", "ctrl", "c"),
    28: keys("hotkey", "ctrl", "c"), 29: ERROR, 30: keys("press", "enter"), 31: keys("press", "left"),
    32: keys("press", "space"), 33: keys("keydown", "shift"), 34: keys("keyup", "shift"),
    35: typed("hello world"), 36: typed("hello world\n"), 37: typed("line one\nline two"),
    38: typed("line one\nline two"), 39: typed("para one\n\npara two"), 40: typed("It's done"),
    41: typed("It's done"), 42: typed('say "hi" now'), 43: typed('say "hi" now'), 44: typed("C:\\Users\\me"),
    45: typed("=SUM(A1:A10)"),
    46: typed("f(x)\n\ng(y)"), 47: typed("a < b"), 48: typed("set point=5"), 49: typed("你好，世界 ✓ café"),
    51: ERROR, 52: ERROR,
    53: ("ok", [{"type": "scroll", "direction": "down"}], [("scroll", (-5,), SCROLL_AT)]),
    54: ("ok", [{"type": "scroll", "direction": "up"}], [("scroll", (5,), SCROLL_AT)]),
    55: ("ok", [{"type": "scroll", "direction": "left"}], [("hscroll", (-5,), SCROLL_AT)]),
    56: ("ok", [{"type": "scroll", "direction": "right"}], [("hscroll", (5,), SCROLL_AT)]),
    57: ("ok", [{"type": "scroll", "direction": "down"}], [("scroll", (-5,), {})]),
    58: ("ok", [{"type": "scroll", "direction": "down"}], [("scroll", (-5,), SCROLL_AT)]),
    59: ("WAIT", [{"type": "wait"}], []),
    60: ("DONE", [{"type": "finished", "content": "The answer is 42"}], []),
    61: ("DONE", [{"type": "finished"}], []),
    62: ("DONE", [{"type": "finished", "content": "It's done"}], []),
    63: ("DONE", [{"type": "finished", "content": "Done.\nAll files saved."}], []),
    64: ("FAIL", [{"type": "call_user"}], []), 65: ("FAIL", [{"type": "error_env"}], []),
    66: ("ok", [{"type": "click"}, {"type": "type", "content": "abc"}], "abc"),
    67: ("ok", [{"type": "hotkey", "keys": ["ctrl", "a"]}, {"type": "hotkey", "keys": ["ctrl", "c"]}],
         [("hotkey", ("ctrl", "a"), {}), ("hotkey", ("ctrl", "c"), {})]),
    68: ("DONE", [{"type": "click"}, {"type": "finished", "content": "ok"}], CLICK_235[2]),
    69: CLICK_235, 70: CLICK_30, 71: CLICK_30, 72: CLICK_30, 73: CLICK_30, 74: CLICK_30, 75: CLICK_30,
    76: CLICK_30, 77: CLICK_30, 78: ERROR, 79: ERROR, 80: ERROR, 81: CLICK_235, 82: CLICK_235, 83: CLICK_235,
    84: typed("abc"),
    85: keys("hotkey", "ctrl", "s"), 86: click(863, 149),
}
EXPECTED[17] = EXPECTED[16]
EXPECTED[50] = typed(CORPUS[50]["prediction"].split("type(content='", 1)[1][:-2])


def test_every_corpus_row_has_an_expectation():
    assert len(CORPUS) == 87 and sorted(EXPECTED) == list(range(87))


@pytest.mark.parametrize("row", range(87), ids=lambda r: f"row{r}")
def test_corpus_row(row):
    outcome, actions, calls = EXPECTED[row]
    result = compile_prediction(CORPUS[row]["prediction"], ActionOptions(clipboard_tool="xclip"))
    if outcome == "error":
        assert (result.ok, result.format_reward, result.terminal) == (False, -1.0, "DONE"), result.error
        assert result.error and not result.actions and not result.code
        return
    assert result.ok and result.format_reward == 0.0, result.error
    assert result.terminal == (outcome if outcome != "ok" else None)
    assert len(result.actions) == len(actions)
    for got, want in zip(result.actions, actions):
        for key, value in want.items():
            if key in ("x", "y", "x2", "y2"):
                assert abs(got[key] - value) <= 0.5, (key, got, want)
            else:
                assert got[key] == value, (key, got, want)
    recording = run_recorded(result.code)
    if isinstance(calls, str):
        assert recording.screen_text() == calls
    else:
        assert recording.pointer_and_key_calls() == calls


def test_history_text_restores_box_tokens_and_drops_leaked_end_token():
    assert compile_prediction(CORPUS[0]["prediction"]).history_text.endswith(
        "click(start_box='<|box_start|>(235,512)<|box_end|>')")
    assert compile_prediction(CORPUS[1]["prediction"]).history_text == CORPUS[1]["prediction"]
    assert "<|im_end|>" not in compile_prediction(CORPUS[82]["prediction"]).history_text
    drag = compile_prediction(CORPUS[16]["prediction"]).history_text
    assert "end_box='<|box_start|>(710,495)<|box_end|>'" in drag


def test_out_of_screen_coordinates_warn():
    assert compile_prediction(CORPUS[8]["prediction"]).warnings
    assert not compile_prediction(CORPUS[0]["prediction"]).warnings


def test_less_than_is_typed_with_shift_comma_and_enter_is_pressed_once():
    code = compile_prediction("Action: type(content='a<b\\n')").code
    recording = run_recorded(code)
    assert ("hotkey", ("shift", ","), {}) in recording.calls
    assert [c for c in recording.calls if c[0] == "press"] == [("press", ("enter",), {})]


def test_non_ascii_without_clipboard_tool_is_dropped_with_a_warning():
    result = compile_prediction("Action: type(content='ok é')", ActionOptions(clipboard_tool=None))
    assert result.ok and result.warnings and run_recorded(result.code).screen_text() == "ok "


def test_long_text_is_split_so_no_code_string_outlasts_the_guest_limit():
    result = compile_prediction(CORPUS[50]["prediction"], ActionOptions(typing_interval=0.1))
    assert len(result.code) > 1
    for code in result.code:
        recording = run_recorded([code])
        assert recording.typing_seconds() <= 100.0
    assert run_recorded(result.code).screen_text() == EXPECTED[50][2]


def test_qwen2vl_coordinates_are_relative_to_1000():
    result = compile_prediction("Action: click(start_box='(500,500)')", ActionOptions(model_type="qwen2vl"))
    assert (result.actions[0]["x"], result.actions[0]["y"]) == (960, 540)
