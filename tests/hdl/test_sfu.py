"""The special-function unit's element stream and pooling."""

from __future__ import annotations

import numpy as np
import pytest
from block_bench import run_block


@pytest.mark.parametrize(("func", "shift", "window"), [
    ("RELU", 0, 1), ("REQUANT", 0, 1), ("REQUANT", 3, 1), ("REQUANT", 31, 1),
    ("REQUANT_RELU", 0, 1), ("REQUANT_RELU", 5, 1),
    ("MAXPOOL", 0, 1), ("MAXPOOL", 0, 3), ("AVGPOOL", 2, 4), ("AVGPOOL", 0, 5),
    ("DIGIT", 0, 1), ("DIGIT", 8, 1), ("DIGIT", 16, 1), ("DIGIT", 24, 1),
])
def test_sfu_element_stream(func: str, shift: int, window: int) -> None:
    """The SFU on a stream of int32 elements, against the ISA's closed-form definitions."""
    from firmware.isa import SfuFunc
    from hdl.sfu import SpecialFunctionUnit
    rng = np.random.default_rng(window + shift)
    xs = [int(v) for v in rng.integers(-(2**31), 2**31, size=window * 6)]
    xs[:3] = [2**31 - 1, -(2**31), 0]
    dut = SpecialFunctionUnit()
    got: list[int] = []

    async def tb(ctx):
        ctx.set(dut.func, SfuFunc[func])
        ctx.set(dut.shift, shift)
        ctx.set(dut.window, window)
        win, acc = 0, 0
        for x in xs:
            ctx.set(dut.x, x)
            ctx.set(dut.win, win)
            ctx.set(dut.acc, acc)
            if ctx.get(dut.emit):
                got.append(ctx.get(dut.y))
            win, acc = ctx.get(dut.win_next), ctx.get(dut.acc_next)
        assert ctx.get(dut.narrow) == (func in ("REQUANT", "REQUANT_RELU", "DIGIT"))

    run_block(dut, tb)
    rnd = (1 << shift) >> 1
    if func == "RELU":
        want = [max(x, 0) for x in xs]
    elif func == "REQUANT":
        want = [min(127, max(-128, (x + rnd) >> shift)) for x in xs]
    elif func == "REQUANT_RELU":
        want = [min(127, (max(x, 0) + rnd) >> shift) for x in xs]
    elif func == "DIGIT":
        # Balanced base-256: the digit is the residue of x's rest at this position in
        # -128..127 (lower digits taken out first).
        want = []
        for x in xs:
            rest = x
            for _ in range(shift // 8):
                d = (rest + 128) % 256 - 128
                rest = (rest - d) // 256
            want.append((rest + 128) % 256 - 128)
    else:
        groups = [xs[i:i + window] for i in range(0, len(xs), window)]
        if func == "MAXPOOL":
            want = [max(g) for g in groups]
        else:  # the sum, rounded and shifted, wraps to int32
            want = [(((sum(g) + rnd) >> shift) + 2**31) % 2**32 - 2**31 for g in groups]
    assert got == want

