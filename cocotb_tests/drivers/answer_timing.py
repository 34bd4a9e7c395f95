"""When the analog drivers answer: :class:`Sampling` (at once under Verilator, half a cycle
later under Icarus) and, with a :class:`Jitter`, at a seeded random cycle anywhere inside the
window the RTL counts (a read's first ``bitplane_cycles``, a solve's ``inv.solve_cycles``, an
INV matrix's programming time): results and cycles must not change, which is what keeping
all timing in the RTL promises."""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge, ReadOnly, Timer

from model.golden import PORTS


class Sampling:
    """When a driver may read and drive after a ``valid`` edge. Verilator reports a value
    change only once it has evaluated the whole design for the time step, so there a
    driver reads at once and drives at once (cocotb's Verilator loop evaluates again
    after a callback that wrote); Icarus reports changes inside a time step, so there it
    waits for ReadOnly to read and for the falling clock edge to drive. Either way the
    answer lands well inside the window the RTL counts. Verilator saves two Python
    wake-ups of three."""

    def __init__(self, dut: SimHandleBase):
        self.dut = dut
        self.settled = cocotb.SIM_NAME.lower().startswith("verilator")

    async def read(self, valid: SimHandleBase) -> bool:
        """Wait until the signals that came with ``valid``'s rising edge can be read;
        False if the edge was a delta-cycle glitch (Icarus), not a request."""
        if self.settled:
            return True
        await ReadOnly()
        return bool(valid.value)

    async def drive(self) -> None:
        """Wait until an answer may be driven."""
        if not self.settled:
            await FallingEdge(self.dut.clk)


class Jitter:
    """Seeded answer times: each answer lands on the falling clock edge of a uniformly
    random cycle of its window (cycle 0 is the request's). The draws of each port come
    from a generator seeded by ``(seed, run, port)``, so a run's answer times do not
    depend on where it sits in a batch. ``fixed`` answers a port's requests exactly that
    many cycles in instead (the tests of each window's last cycle and the first one past
    it). Records each port's delays, per run."""

    def __init__(self, seed: int, period_ps: int, fixed: dict[str, int] | None = None):
        self.seed, self.period_ps, self.fixed = seed, period_ps, dict(fixed or {})
        self.rngs: dict[str, np.random.Generator] = {}
        self.delays: dict[str, list[int]] = {}   # port: [min, max, count]

    def start_run(self, run: int) -> None:
        """Fresh generators and delay records for run ``run`` of the batch."""
        self.rngs = {p: np.random.default_rng([self.seed, run, k])
                     for k, p in enumerate(PORTS)}
        self.delays = {}

    def draw(self, port: str, window: int) -> int:
        """The cycle of the window (0 .. ``window - 1``) the next answer on ``port``
        lands in, recorded."""
        d = self.fixed[port] if port in self.fixed else int(self.rngs[port].integers(0, window))
        lo, hi, n = self.delays.get(port, [d, d, 0])
        self.delays[port] = [min(lo, d), max(hi, d), n + 1]
        return d

    async def wait(self, port: str, window: int) -> None:
        """From a request's edge, wait until the answer is due."""
        await Timer(self.period_ps // 2 + self.draw(port, window) * self.period_ps, "ps")


async def answer_due(sampling: Sampling, jitter: Jitter | None, port: str, window: int
                     ) -> None:
    """Wait until a responder drives its answer: at its usual point, or jittered."""
    if jitter is None:
        await sampling.drive()
    else:
        await jitter.wait(port, window)
