"""The data-flow rules of the architecture: model/ is pure Python (no RTL, no cocotb),
hdl/ never imports model/, firmware/ imports neither."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(package: str) -> set[str]:
    names = set()
    for path in (ROOT / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_packages_import_only_downstream() -> None:
    assert not _imports("hdl") & {"model", "cocotb", "cocotb_tests"}
    assert not _imports("model") & {"hdl", "amaranth", "cocotb", "cocotb_tests"}
    assert not _imports("firmware") & {"hdl", "model", "amaranth", "cocotb", "cocotb_tests"}


def test_models_load_without_rtl_or_cocotb() -> None:
    code = ("import sys, model.golden, model.timing, model.analog.refinement, model.reference, "
            "model.checker, firmware.schedulers; "
            "print(sorted(m for m in ('amaranth', 'cocotb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"
