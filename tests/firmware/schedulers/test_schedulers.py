"""The one registry: every network scheduler by its user-visible name, each making the
plan artefact the timing model consumes (a planned trace times exactly as the golden
run of the same image), and the models importing that artefact, never a scheduler."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from nets import CNN, PADDED, STREAMED, TINY, case

from firmware import config, schedulers
from firmware.isa import RTL_OPCODES, Fault, Opcode, VmmOut
from firmware.plan import Schedule
from firmware.schedulers.aras import Workload
from model import golden, timing

ROOT = Path(__file__).resolve().parents[3]


def test_registry_names_each_scheduler_module() -> None:
    """The names reports and ``--schedulers`` use, in ARAS's order, each the function of
    the module named for it."""
    assert list(schedulers.SCHEDULERS) == ["naive", "baseline", "+banks", "+replication",
                                           "+reuse"]
    modules = {name: f.__module__ for name, f in schedulers.SCHEDULERS.items()}
    assert modules == {"naive": "firmware.schedulers.naive",
                       "baseline": "firmware.schedulers.baseline",
                       "+banks": "firmware.schedulers.banks",
                       "+replication": "firmware.schedulers.replication",
                       "+reuse": "firmware.schedulers.reuse"}


def test_schedule_dispatches_by_name_and_refuses_unknown_names() -> None:
    cfg = config.load("small")
    qs, _, _ = case(PADDED, 0)
    for name, scheduler in schedulers.SCHEDULERS.items():
        plan = schedulers.schedule(cfg, PADDED, qs, name)
        assert isinstance(plan, Schedule) and plan.scheduler == name
        assert plan.program == scheduler(cfg, PADDED, qs).program
    with pytest.raises(ValueError, match=r"unknown scheduler 'fast'; expected one of naive, "):
        schedulers.schedule(cfg, PADDED, qs, "fast")


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("small", STREAMED), ("tiny", TINY)])
@pytest.mark.parametrize("name", list(schedulers.SCHEDULERS))
def test_planned_trace_times_as_the_golden_run(cfg_name: str, net, name: str) -> None:
    """What the full-scale report runs (program plus offline write costs, no golden
    model) gives the cycles, counters and pulses of the golden run of the same image."""
    cfg = config.load(cfg_name)
    qs, x, shifts = case(net, 1)
    plan = schedulers.schedule(cfg, net, qs, name, x, shifts)
    res = golden.run(plan.image, RTL_OPCODES)
    assert res.fault == Fault.NONE
    planned = timing.simulate_trace(cfg, timing.planned_trace(cfg, plan.program, plan.writes))
    assert planned == timing.simulate(cfg, res)
    assert planned.pulses == res.pulses
    # Without main-memory contents the program and costs are the same.
    bare = schedulers.schedule(cfg, net, qs, name, shifts=shifts)
    assert bare.image is None and bare.program == plan.program
    assert [w.changes.tolist() for w in bare.writes] == [w.changes.tolist()
                                                          for w in plan.writes]


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("tiny", TINY)])
def test_layers_in_one_part_requantize_in_their_vmms(cfg_name: str, net) -> None:
    """A layer computed in one part but the last writes INT8 from its VMMs (REQUANT_RELU
    with the layer's shift) and has no SFU pass; a layer in parts writes int32 (partial
    sums where its parts split the inputs) and requantizes with the SFU; the last layer's
    VMMs write int32."""
    cfg = config.load(cfg_name)
    qs, x, shifts = case(net, 0)
    plan = schedulers.schedule(cfg, net, qs, "+reuse", x, shifts)
    parts = Workload.of(cfg, net, qs, x, shifts).jobs.parts
    last = len(net.layers) - 1
    kinds = set()
    for i in range(len(net.layers)):
        insns = [insn for insn, lay in zip(plan.program, plan.layer_of, strict=True)
                 if lay == i]
        vmms = [v for v in insns if v.opcode == Opcode.VMM]
        sfus = [v for v in insns if v.opcode == Opcode.SFU]
        split = len(parts[i]) > 1
        if i == last or split:
            assert all(v.mode == VmmOut.INT32 for v in vmms)
            assert bool(sfus) == (i != last)
        else:
            assert all(v.mode == VmmOut.REQUANT_RELU and v.shift == shifts[i] for v in vmms)
            assert not sfus
        kinds.add("split" if split else "last" if i == last else "fused")
    assert "fused" in kinds


def _firmware_imports(source: str) -> set[str]:
    """The ``firmware`` modules a source file imports (``from firmware import x`` as
    ``firmware.x``)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("firmware")}
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("firmware"):
            names.add(node.module)
            if node.module == "firmware":
                names |= {f"firmware.{a.name}" for a in node.names}
    return names


def test_the_models_import_the_plan_never_a_scheduler() -> None:
    """Full-scale timing consumes the plan artefact (:mod:`firmware.plan`): nothing in
    ``model/`` imports a scheduler, but the reports (``model/reports/``: the papers'
    comparisons, which run the schedulers and then the models, top of the flow)."""
    assert "firmware.schedulers" in _firmware_imports("from firmware import schedulers")
    assert "firmware.schedulers.naive" in _firmware_imports(
        "from firmware.schedulers.naive import naive")
    sources = {p: p.read_text() for p in (ROOT / "model").rglob("*.py")
               if "reports" not in p.relative_to(ROOT / "model").parts}
    assert sources and not any("reports" in str(p) for p in sources)
    used = {str(p.relative_to(ROOT)): _firmware_imports(s) for p, s in sources.items()}
    assert any("firmware.plan" in names for names in used.values())
    bad = {name: sorted(n for n in names if n.startswith("firmware.schedulers"))
           for name, names in used.items()}
    assert not any(bad.values()), bad


def test_the_schedulers_import_neither_models_nor_rtl() -> None:
    """Data flows firmware -> models: no scheduler module imports ``model``, ``hdl`` or
    a simulator (the schedulers' own rule, beside ``tests/test_layering.py``'s for the
    packages)."""
    def tops(source: str) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
        return names

    assert "model" in tops("from model.timing import simulate")
    used = set().union(*(tops(p.read_text())
                         for p in (ROOT / "firmware" / "schedulers").glob("*.py")))
    assert "firmware" in used
    assert not used & {"model", "hdl", "amaranth", "cocotb", "cocotb_tests"}
