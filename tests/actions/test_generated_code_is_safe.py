"""Whatever the model writes, the generated code only calls allowed functions with literal arguments."""
from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.actions import GUEST_CODE_PREFIX, compile_prediction

ALLOWED_CALLS = {f"pyautogui.{name}" for name in (
    "click", "moveTo", "mouseDown", "mouseUp", "hotkey", "press", "keyDown", "keyUp", "write", "scroll",
    "hscroll")}
ALLOWED_CALLS |= {"subprocess.run"}


def assert_literal_or_devnull(node: ast.expr) -> None:
    """A literal, or subprocess.DEVNULL (where a clipboard tool's output goes: see the compiler's paste)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        assert (node.value.id, node.attr) == ("subprocess", "DEVNULL"), ast.dump(node)
    else:
        ast.literal_eval(node)             # raises unless the argument is a literal


def called_name(node: ast.Call) -> str:
    assert isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name), ast.dump(node.func)
    return f"{node.func.value.id}.{node.func.attr}"


def assert_only_allowed(code: str) -> None:
    tree = ast.parse(code)
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            assert [alias.name for alias in statement.names] == ["subprocess"]
            continue
        assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call), ast.dump(statement)
        call = statement.value
        assert called_name(call) in ALLOWED_CALLS
        for value in call.args:
            ast.literal_eval(value)        # raises unless the argument is a literal
        for keyword in call.keywords:
            assert_literal_or_devnull(keyword.value)
    compile(GUEST_CODE_PREFIX + code, "<generated>", "exec")


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


@settings(max_examples=200, deadline=None)
@given(content=text)
def test_type_content(content):
    for quote in ("'", '"'):
        result = compile_prediction(f"Thought: x\nAction: type(content={quote}{content}{quote})")
        for code in result.code:
            assert_only_allowed(code)


@settings(max_examples=200, deadline=None)
@given(content=text, thought=text)
def test_finished_and_thought(content, thought):
    result = compile_prediction(f"Thought: {thought}\nAction: finished(content='{content}')")
    assert not result.code or all(assert_only_allowed(code) is None for code in result.code)


@settings(max_examples=200, deadline=None)
@given(key=text)
def test_hotkey_and_press(key):
    for action in ("hotkey", "press", "keydown", "keyup"):
        result = compile_prediction(f"Action: {action}(key='{key}')")
        for code in result.code:
            assert_only_allowed(code)


@settings(max_examples=200, deadline=None)
@given(body=text)
def test_arbitrary_action_text(body):
    result = compile_prediction(f"Action: {body}")
    for code in result.code:
        assert_only_allowed(code)
