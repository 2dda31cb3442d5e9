"""OSWorld's own metrics, loaded module by module, behind the daemon's desktop-env runner (reference venv).

Run as `.venv-osworld/bin/python osworld_reference.py`. desktop-env's package `__init__` files import torch,
gym and the whole agent stack, and its metrics package imports every metric module (easyocr, librosa, ...).
Here the parent packages are empty stand-ins whose `__path__` points at the installed files, so
`desktop_env.evaluators.metrics.<module>` loads alone; a metric is looked up by name in the module OSWorld's
own metrics `__init__` imports it from. Libraries not installed in the reference venv become stand-ins that
raise when used, so a metric that needs one answers an error, never a wrong score. Then daemon/evaluation/
desktop_env_runner.py (the runner the daemon's opt-in adapter starts) serves JSON lines as usual.
"""
import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
import types
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[2] / "daemon" / "evaluation" / "external" / "desktop_env_runner.py"
ABSENT_LIBRARIES = ("cv2", "easyocr", "librosa", "acoustid", "fastdtw", "borb", "pdfplumber", "PyPDF2",
                    "formulas")
ABSENT_USED: list[str] = []                       # names of stand-ins called during the current metric call


class Absent:
    """Whatever a missing library's name leads to: importable, but using it raises."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return Absent(f"{self._name}.{attribute}")

    def __call__(self, *args, **kwargs):
        ABSENT_USED.append(self._name)
        raise ModuleNotFoundError(f"{self._name}: not installed in the OSWorld reference venv")

    def __mro_entries__(self, bases):
        return (object,)


class AbsentLibraries(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in ABSENT_LIBRARIES:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = lambda attribute: Absent(f"{spec.name}.{attribute}")
        return module

    def exec_module(self, module):
        pass


def stand_in_package(name: str, folder: Path) -> types.ModuleType:
    package = types.ModuleType(name)
    package.__path__ = [str(folder)]
    sys.modules[name] = package
    return package


def metric_modules(metrics_init: Path) -> dict[str, str]:
    """Metric name -> the module OSWorld's metrics `__init__` imports it from."""
    names = {}
    for node in ast.parse(metrics_init.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.update({alias.asname or alias.name: node.module for alias in node.names})
    return names


def install_metrics_package() -> None:
    root = Path(importlib.util.find_spec("desktop_env").submodule_search_locations[0])
    stand_in_package("desktop_env", root)
    stand_in_package("desktop_env.evaluators", root / "evaluators")
    metrics = stand_in_package("desktop_env.evaluators.metrics", root / "evaluators" / "metrics")
    homes = metric_modules(root / "evaluators" / "metrics" / "__init__.py")

    def metric(name: str):
        if name not in homes:
            raise AttributeError(f"OSWorld has no metric {name!r}")
        return getattr(importlib.import_module(f"desktop_env.evaluators.metrics.{homes[name]}"), name)
    metrics.__getattr__ = lambda name: guarded(metric(name))


def guarded(metric):
    """A metric that swallowed a missing library's error must not pass off its fallback as OSWorld's score."""
    def call(*args, **options):
        ABSENT_USED.clear()
        score = metric(*args, **options)
        if ABSENT_USED:
            raise ModuleNotFoundError(f"{metric.__name__} used {ABSENT_USED[0]}, not in the reference venv")
        return score
    return call


def main() -> None:
    os.chdir(tempfile.mkdtemp(prefix="osworld-reference-"))   # some metrics write scratch files to the cwd
    sys.meta_path.append(AbsentLibraries())         # last: an installed library is always the real one
    install_metrics_package()
    spec = importlib.util.spec_from_file_location("desktop_env_runner", RUNNER)
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    runner.main()


if __name__ == "__main__":
    main()
