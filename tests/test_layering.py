"""The data-flow rules of the architecture: model/ is pure Python (no RTL, no cocotb),
hdl/ never imports model/, firmware/ imports neither; inside model/, the analog devices
import no other model, the chip models no training experiment or report; scripts import
no test code and tests import no script."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SCRIPTS = ROOT / "scripts"


def _module_imports(path: Path, root: Path) -> set[str]:
    """Dotted names ``path`` imports (relative imports resolved against ``root``)."""
    package = path.relative_to(root).parent.parts
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names}
    return names


def _imports(package: str, root: Path = ROOT, top: bool = True) -> set[str]:
    """What the modules of ``package`` (with its sub-packages) import: top-level names,
    or with ``top=False`` the full dotted names."""
    names = set()
    for path in (root / package).rglob("*.py"):
        names |= _module_imports(path, root)
    return {n.split(".")[0] for n in names} if top else names


def _within(names: set[str], *prefixes: str) -> set[str]:
    return {n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes)}


def test_packages_import_only_downstream() -> None:
    assert not _imports("hdl") & {"model", "cocotb", "cocotb_tests", "reram_pim"}
    assert not _imports("model") & {"hdl", "amaranth", "cocotb", "cocotb_tests", "reram_pim"}
    assert not _imports("firmware") & {"hdl", "model", "amaranth", "cocotb", "cocotb_tests",
                                       "reram_pim"}
    # The command line is the top: it may import every package, none imports it.
    assert not _imports("cocotb_tests") & {"reram_pim"}


def _model_violations(root: Path = ROOT) -> set[str]:
    """Imports across model/'s layers: analog devices -> chip models -> training
    experiments -> reports, each using only the layers before it."""
    bad = set()
    analog = _imports("model/analog", root, top=False)
    bad |= {f"analog: {n}" for n in _within(analog, "model") - _within(analog, "model.analog")}
    chip = set()
    for path in (root / "model").glob("*.py"):
        chip |= _module_imports(path, root)
    bad |= {f"chip: {n}" for n in _within(chip, "model.training", "model.reports")}
    training = _imports("model/training", root, top=False)
    bad |= {f"training: {n}" for n in _within(training, "model.reports")}
    return bad


def test_model_layers_import_only_the_layers_below() -> None:
    assert _model_violations() == set()


def test_layer_check_catches_an_analog_model_importing_a_chip_model(tmp_path: Path) -> None:
    for sub in ("model/analog", "model/training"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "model" / "analog" / "crossbar.py").write_text("from model import golden\n")
    (tmp_path / "model" / "golden.py").write_text("import model.training.cnn\n")
    assert _model_violations(tmp_path) == {"analog: model", "analog: model.golden",
                                           "chip: model.training.cnn"}


def _scripts_importing_tests(scripts: Path = SCRIPTS, tests: Path = TESTS) -> set[str]:
    """Scripts that import the test suite's code (``tests`` or any module under it)."""
    test_code = {"tests", *(p.stem for p in tests.rglob("*.py"))}
    return {path.name for path in scripts.glob("*.py")
            if {n.split(".")[0] for n in _module_imports(path, path.parent)} & test_code}


def _tests_loading_scripts(tests: Path = TESTS, scripts: Path = SCRIPTS) -> set[str]:
    """Test files that import a script (by name, ``scripts``, ``script_loader``) or load
    one from its file."""
    names = {p.stem for p in scripts.glob("*.py")} | {"scripts", "script_loader"}
    bad = set()
    for path in tests.rglob("*.py"):
        imported = {n.split(".")[0] for n in _module_imports(path, tests)}
        if imported & names or "spec_from_file_location" in path.read_text():
            bad.add(path.name)
    return bad


def test_scripts_import_no_test_code() -> None:
    assert _scripts_importing_tests() == set()


def test_tests_import_no_script() -> None:
    assert _tests_loading_scripts() - {Path(__file__).name} == set()


def test_script_and_test_checks_catch_both_directions(tmp_path: Path) -> None:
    scripts, tests = tmp_path / "scripts", tmp_path / "tests"
    scripts.mkdir()
    (tests / "sub").mkdir(parents=True)
    (tests / "nets.py").write_text("X = 1\n")
    (scripts / "report.py").write_text("from nets import X\n")
    (scripts / "clean.py").write_text("import json\n")
    (tests / "sub" / "test_a.py").write_text("import report\n")
    (tests / "sub" / "test_b.py").write_text("import importlib.util\n"
                                             "importlib.util.spec_from_file_location\n")
    (tests / "test_c.py").write_text("from model import golden\n")
    assert _scripts_importing_tests(scripts, tests) == {"report.py"}
    assert _tests_loading_scripts(tests, scripts) == {"test_a.py", "test_b.py"}


def test_models_load_without_rtl_or_cocotb() -> None:
    code = ("import sys, model.golden, model.timing, model.analog.refinement, model.reference, "
            "model.checker, model.training.cnn, model.training.kfac_experiment, "
            "model.reports.aras, model.reports.basisn_fit, firmware.schedulers; "
            "print(sorted(m for m in ('amaranth', 'cocotb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"
