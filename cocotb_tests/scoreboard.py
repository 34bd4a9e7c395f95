"""In-simulation scoreboard: every analog-port transaction the RTL makes, checked against
the golden model's prediction the moment it happens.

The bench runs the golden model on the same image before the simulation starts and loads
its transactions (:class:`model.golden.Transaction`) into one queue per port; ports are
in program order each (one sequencer), though not with each other, and row writes in
order per crossbar (several write engines may interleave their rows; two never write
one crossbar at once). Each
analog driver hands what it observed to :meth:`Scoreboard.observe`; the first mismatch is
recorded with where the chip is (cycle and pc), the instruction that makes the
transaction and the expected vs observed transaction, and ends the run at once. Nothing
here imports cocotb: the bench tells it where the chip is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import numpy as np

from firmware.assembler import format_insn
from model.golden import PORTS, Transaction

#: Ports whose transactions are in program order per crossbar only (a queue each).
PER_CROSSBAR = frozenset({"row_write"})


def _key(port: str, xbar: int) -> tuple[str, int | None]:
    return (port, xbar if port in PER_CROSSBAR else None)


class ScoreboardMismatchError(AssertionError):
    """The RTL made an analog-port transaction the golden model does not predict."""


def _array_diff(name: str, expected: np.ndarray, observed: np.ndarray) -> str | None:
    """Where two arrays first differ, in words; None if they are equal."""
    e, o = np.asarray(expected), np.asarray(observed)
    if e.shape != o.shape:
        return f"{name} shape {e.shape} expected, {o.shape} observed"
    diff = np.argwhere(e != o)
    if not diff.size:
        return None
    at = tuple(int(i) for i in diff[0])
    index = at[0] if len(at) == 1 else at
    return (f"{name}[{index}] = {e[at]} expected, {o[at]} observed "
            f"({len(diff)} of {e.size} differ)")


class Scoreboard:
    """Per-port queues of expected transactions and the first mismatch seen.

    ``where`` tells, when a mismatch is recorded, where the chip is (its cycle and pc:
    read from the simulator only then); ``on_mismatch`` is called once, to end the run.
    """

    def __init__(self, where: Callable[[], str] = lambda: "?",
                 on_mismatch: Callable[[], None] | None = None) -> None:
        self.where, self.on_mismatch = where, on_mismatch
        self.queues: dict[tuple[str, int | None], deque[Transaction]] = {}
        self.mismatch: str | None = None
        self.seen = dict.fromkeys(PORTS, 0)

    def reset(self, expected: Iterable[Transaction]) -> None:
        """Expect ``expected`` (a new run): queues refilled, counts and mismatch cleared."""
        self.queues = {}
        for t in expected:
            self.queues.setdefault(_key(t.port, t.xbar), deque()).append(t)
        self.mismatch = None
        self.seen = dict.fromkeys(PORTS, 0)

    @property
    def failed(self) -> bool:
        return self.mismatch is not None

    def observe(self, port: str, xbar: int, fields: dict[str, int], data: np.ndarray,
                result: np.ndarray | None = None) -> bool:
        """Check one observed transaction against the next expected one on its port;
        record the first mismatch. True if it matched."""
        self.seen[port] += 1
        if self.failed:
            return False
        what = PORTS[port]
        n = self.seen[port]
        queue = self.queues.get(_key(port, xbar))
        if not queue:
            more = (f"no more {what}s to xbar {xbar}" if port in PER_CROSSBAR
                    else f"only {n - 1} {what}s")
            self._fail(f"{what} #{n} (xbar {xbar}, {fields}) observed, but the golden "
                       f"model makes {more}")
            return False
        exp = queue.popleft()
        problems = []
        if exp.xbar != xbar:
            problems.append(f"xbar {exp.xbar} expected, {xbar} observed")
        for name, value in exp.fields:
            if fields.get(name) != value:
                problems.append(f"{name} {value} expected, {fields.get(name)} observed")
        if not problems:   # the data only means something on the right crossbar
            d = _array_diff("data", exp.data, data)
            if d:
                problems.append(d)
            if exp.result is not None and result is not None:
                r = _array_diff("levels after", exp.result, result)
                if r:
                    problems.append(r)
        if problems:
            self._fail(f"{what} #{n} of {_origin(exp)} differs from the golden model: "
                       + "; ".join(problems))
            return False
        return True

    def leftover(self) -> str | None:
        """At the end of a run, the first expected transaction never seen (recorded as a
        mismatch), or None."""
        if self.failed:
            return self.mismatch
        for (port, _), q in self.queues.items():
            if q:
                self._fail(f"the chip halted, but {len(q)} {PORTS[port]}(s) the golden "
                           f"model makes were never seen, from the one of {_origin(q[0])}")
                return self.mismatch
        return None

    def _fail(self, text: str) -> None:
        self.mismatch = f"scoreboard: {self.where()}: {text}"
        if self.on_mismatch is not None:
            self.on_mismatch()


def _origin(t: Transaction) -> str:
    """The instruction that makes a transaction, as the golden model ran it."""
    return f"pc {t.pc} ({format_insn(t.insn)})"
