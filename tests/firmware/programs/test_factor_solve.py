"""One K-FAC factor solve as chip firmware: INV plus exact residual VMMs, refined."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.isa import Fault, Opcode
from firmware.programs.factor_solve import TOP, factor_solve, quantize_factor, result, split_halves
from model import golden, timing
from model.analog.refinement import random_spd
from model.training.factor_solvers import AnalogSolver


def _bits(fs, dram) -> float:
    exact = np.linalg.solve(fs.a.astype(np.float64), fs.b.astype(np.float64))
    return float(-np.log2(np.linalg.norm(result(fs, dram) - exact) / np.linalg.norm(exact)))


def test_halves_recombine() -> None:
    a = np.random.default_rng(0).integers(-TOP, TOP + 1, size=(16, 16))
    hi, lo = split_halves(a)
    assert np.array_equal(256 * hi + lo, a)
    assert lo.min() >= -128 and lo.max() <= 127 and np.abs(hi).max() <= 127
    with pytest.raises(ValueError, match="INT8 halves"):
        split_halves(np.array([[TOP + 200]]))


@pytest.mark.parametrize("kappa", [5, 20, 50])
def test_refinement_reaches_16_bits(small, kappa: float) -> None:
    """One step is about as good as the 8-bit INV; refinement passes 16 bits."""
    rng = np.random.default_rng(kappa)
    f = random_spd(16, kappa, rng)
    b = rng.integers(-1000, 1000, size=16)
    one = factor_solve(small, f, b, iterations=0)
    ref = factor_solve(small, f, b, iterations=8)
    g1, gr = golden.run(one.image), golden.run(ref.image)
    assert g1.fault == gr.fault == Fault.NONE
    assert _bits(one, g1.dram) < 9
    assert _bits(ref, gr.dram) >= 16
    ops = [e.insn.opcode for e in gr.trace]
    assert ops.count(Opcode.INV) == 9 and ops.count(Opcode.INV_WRITE) == 1
    # 7 VMMs (one digit-shift pair would only add multiples of 2^32) per step
    assert ops.count(Opcode.VMM) == 8 * 7


def test_kfac_factor_solve_matches_the_model_refinement(small) -> None:
    """A damped K-FAC factor from the digits CNN: the firmware's result is as accurate as
    the analog refinement model run alone on the same matrix."""
    from firmware.config import load
    from model.training import kfac_experiment
    from model.training.cnn import digits_split
    from model.training.factor_solvers import make_solver
    from model.training.optimizers import KFAC
    opt = KFAC(0.005, make_solver("float", load("aras")))
    kfac_experiment.run(opt, digits_split(), seed=0, epochs=1)
    a, _ = opt._damped(0)               # conv input factor, 10 x 10
    f = np.eye(16) * np.mean(np.diag(a))
    f[:10, :10] = a
    b = np.random.default_rng(1).integers(-500, 500, size=16)
    fs = factor_solve(small, f, b, iterations=8)
    g = golden.run(fs.image)
    assert g.fault == Fault.NONE
    chip_bits = _bits(fs, g.dram)
    model = AnalogSolver(small, refine=True)
    x = model.prepare(fs.a.astype(np.float64))(fs.b[:, None].astype(np.float64))[:, 0]
    exact = np.linalg.solve(fs.a.astype(np.float64), fs.b.astype(np.float64))
    model_bits = -np.log2(np.linalg.norm(x - exact) / np.linalg.norm(exact))
    assert chip_bits >= 16 and model_bits >= 16
    # The quantized factor is within 16-bit precision of the float one.
    _, scale = quantize_factor(f)
    assert np.abs(fs.a * scale - f).max() <= scale / 2 + 1e-12


def test_many_right_hand_sides_share_the_programmed_arrays(small) -> None:
    """Columns solved one after another: each as accurate as alone, arrays written once,
    and every further column costs the same cycles."""
    rng = np.random.default_rng(11)
    f = random_spd(16, 10, rng)
    b = rng.integers(-2000, 2000, size=(16, 3)) * [1, 10, 1]
    cycles = []
    for m in (1, 2, 3):
        fs = factor_solve(small, f, b[:, :m], iterations=5)
        g = golden.run(fs.image)
        assert g.fault == Fault.NONE
        x = result(fs, g.dram)
        assert x.shape == (16, m)
        exact = np.linalg.solve(fs.a.astype(np.float64), b[:, :m].astype(np.float64))
        for j in range(m):
            assert np.linalg.norm(x[:, j] - exact[:, j]) / np.linalg.norm(exact[:, j]) \
                < 2.0 ** -16
        ops = [e.insn.opcode for e in g.trace]
        assert ops.count(Opcode.INV_WRITE) == 1 and ops.count(Opcode.WRITE_START) == 2
        cycles.append(timing.simulate(small, g).cycles)
    assert cycles[2] - cycles[1] == cycles[1] - cycles[0] > 0


def test_timing_model_times_the_solve(small) -> None:
    fs = factor_solve(small, random_spd(16, 10, np.random.default_rng(3)),
                      np.arange(16) - 8, iterations=2)
    g = golden.run(fs.image)
    t = timing.simulate(small, g)
    assert t.fault == Fault.NONE
    assert t.cycles > 3 * small.inv.solve_cycles  # three INVs, each a full window
    assert t.pulses == g.pulses > 0


def test_bad_factors_are_refused(small) -> None:
    with pytest.raises(ValueError, match="16x16"):
        factor_solve(small, np.eye(8), np.ones(8, dtype=int))
    with pytest.raises(ValueError, match="positive definite"):
        factor_solve(small, -np.eye(16), np.ones(16, dtype=int))


def test_slow_matrix_faults_inv_unstable(small) -> None:
    """A matrix whose loop settles slower than inv.solve_cycles is refused at INV_WRITE."""
    f = random_spd(16, 300, np.random.default_rng(0))
    fs = factor_solve(small, f, np.ones(16, dtype=int), iterations=1)
    gm = golden.Golden(fs.image)
    res = gm.run()
    assert res.fault == Fault.INV_UNSTABLE
    assert "beyond inv.solve_cycles" in gm.inv_state[0]


@pytest.mark.cosim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_factor_solve_cosimulates(small, sim: str, tmp_path) -> None:
    """The refined solve in the RTL with the INV model on its port: memories bit-identical
    to the golden model, cycles equal to the timing model's, >= 16 bits."""
    from cocotb_tests import runner
    from model import checker
    fs = factor_solve(small, random_spd(16, 20, np.random.default_rng(7)),
                      np.random.default_rng(8).integers(-1000, 1000, size=(16, 2)),
                      iterations=6)
    gold = golden.run(fs.image)
    rtl = runner.run(fs.image, sim, out_dir=tmp_path / "run")
    checks = checker.compare(gold, timing.simulate(small, gold), rtl.counters, rtl.gb,
                             rtl.dram, small.gb_bits, small.dram_bits)
    assert all(c.ok for c in checks), checker.format_table(checks)
    assert rtl.counters["fault"] == Fault.NONE
    assert rtl.counters["inv_solves"] == 2 * 7 and rtl.counters["inv_programs"] == 1
    assert _bits(fs, rtl.dram) >= 16
