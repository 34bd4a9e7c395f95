"""Jittered answer times: inside the window, reproducible per run and port, independent
of a run's place in its batch, and fixed delays where the tests ask for them."""

from __future__ import annotations

from cocotb_tests.drivers.answer_timing import Jitter
from model.golden import PORTS


def _draws(j: Jitter, run: int, port: str, window: int, n: int = 200) -> list[int]:
    j.start_run(run)
    return [j.draw(port, window) for _ in range(n)]


def test_every_answer_lands_inside_its_window_and_covers_it() -> None:
    j = Jitter(seed=3, period_ps=1000)
    for port in PORTS:
        d = _draws(j, 0, port, window=12)
        assert min(d) == 0 and max(d) == 11
        assert j.delays[port] == [0, 11, 200]


def test_a_run_draws_the_same_wherever_it_sits_in_a_batch() -> None:
    a, b = Jitter(seed=5, period_ps=1000), Jitter(seed=5, period_ps=1000)
    _draws(b, 0, "xbar_read", 12)          # b has answered a whole run before
    assert _draws(a, 1, "xbar_read", 12) == _draws(b, 1, "xbar_read", 12)
    # Ports and runs draw from generators of their own.
    assert _draws(a, 1, "inv_solve", 12) != _draws(a, 1, "xbar_read", 12)
    assert _draws(a, 2, "xbar_read", 12) != _draws(a, 1, "xbar_read", 12)
    assert _draws(Jitter(6, 1000), 1, "xbar_read", 12) != _draws(a, 1, "xbar_read", 12)


def test_a_fixed_delay_overrides_the_draw_on_its_port_only() -> None:
    j = Jitter(seed=1, period_ps=1000, fixed={"inv_solve": 7})
    assert set(_draws(j, 0, "inv_solve", 2000, 20)) == {7}
    assert len(set(_draws(j, 0, "xbar_read", 12, 50))) > 1
