"""UI-TARS predictions → structured actions → pyautogui code for the guest's /execute. Pure: no I/O.

The generated language, which the simulated guest interprets and nothing else may appear in:
  pyautogui.click(x, y, clicks=n, button=b) · moveTo(x, y[, duration=s])
  pyautogui.mouseDown(button=b) · mouseUp(button=b)
  pyautogui.hotkey(*keys) · press(key) · keyDown(key) · keyUp(key) · write(text, interval=s)
  pyautogui.scroll(n[, x=x, y=y]) · hscroll(n[, x=x, y=y])
  import subprocess; subprocess.run([...], input=b'...', check=False, timeout=10)   (clipboard paste only)
Every argument is a literal made with repr() of a parsed value; statements are joined with '; '.
"""
from .compiler import ActionOptions, CompiledPrediction, compile_prediction, smart_resize

# What the worker puts before each code string in `python -c` (OSWorld's guest convention).
GUEST_CODE_PREFIX = "import pyautogui; import time; pyautogui.FAILSAFE = False; "

__all__ = ["ActionOptions", "CompiledPrediction", "compile_prediction", "smart_resize", "GUEST_CODE_PREFIX"]
