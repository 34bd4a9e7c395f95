"""Which global-buffer bank each buffer lives in: the integer linear program of ARAS's
bank gating (+banks), minimizing the powered bank capacity over the layers' phases."""

from __future__ import annotations

import numpy as np

from firmware.config import Config


def select_banks(cfg: Config, sizes: list[int], live: list[list[int]],
                 weights: list[float]) -> list[int]:
    """The bank of each buffer (``sizes`` in words, each in one bank) minimizing the
    powered capacity weighted by each phase's length: phase ``t`` (weight
    ``weights[t]``) needs the buffers ``live[t]``, in distinct banks, and powers their
    banks. Bank static power is taken proportional to bank size. Solved by
    ``scipy.optimize.milp``; raises ``ValueError`` if no placement exists."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    caps = [hi - lo for lo, hi in cfg.bank_bounds]
    nb, nk, nt = len(sizes), len(caps), len(live)
    nx = nb * nk                            # x[b, k]: buffer b in bank k
    n = nx + nt * nk                        # p[t, k]: bank k powered in phase t
    cost = np.zeros(n)
    for t in range(nt):
        cost[nx + t * nk: nx + (t + 1) * nk] = np.array(caps, dtype=float) * weights[t]
    entries: list[tuple[int, int, float]] = []
    lo: list[float] = []
    hi: list[float] = []

    def constraint(coefs: dict[int, float], low: float, high: float) -> None:
        row = len(lo)
        entries.extend((row, i, v) for i, v in coefs.items())
        lo.append(low)
        hi.append(high)

    for b in range(nb):                     # each buffer in exactly one bank that holds it
        constraint({b * nk + k: 1 for k in range(nk)}, 1, 1)
    upper = np.ones(n)
    for b in range(nb):
        for k in range(nk):
            if sizes[b] > caps[k]:
                upper[b * nk + k] = 0
    for t, bufs in enumerate(live):
        for k in range(nk):
            # Buffers live together never share a bank; a used bank is powered.
            constraint({b * nk + k: 1 for b in bufs}, 0, 1)
            for b in bufs:
                constraint({nx + t * nk + k: 1, b * nk + k: -1}, 0, np.inf)
    r, c, v = zip(*entries, strict=True)
    a = coo_array((v, (r, c)), shape=(len(lo), n)).tocsr()
    res = milp(cost, constraints=LinearConstraint(a, lo, hi),
               integrality=np.ones(n), bounds=Bounds(np.zeros(n), upper))
    if res.x is None:
        raise ValueError(f"no bank placement: buffers of {sizes} words (each in one bank, "
                         f"those live together in different banks) in banks of {caps} words")
    x = np.rint(res.x[:nx]).reshape(nb, nk)
    return [int(np.argmax(x[b])) for b in range(nb)]
