"""What every execute unit of the sequencer shares: its dispatch port from the core and
the idle-start-done state machine conventions that keep the units cycle-exact.

A unit idles in ``IDLE``. On ``ctl.start`` (the core's DECODE cycle) it loads its
registers and enters its first state, or answers ``done`` (or ``fault``) at once; in the
cycle its instruction completes it raises ``done`` combinationally and returns to
``IDLE``, so the core fetches the next instruction in the same cycle. ``ctl.abort`` (the
watchdog) overrides whatever a state decided and returns the unit to ``IDLE``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from firmware.config import Config
from firmware.isa import Fault
from hdl.decoder import instruction_layout
from hdl.interfaces import Dispatch


class ExecUnit(wiring.Component):
    """Base of the execute units: ``ctl`` (:class:`~hdl.interfaces.Dispatch`, from the
    core) plus the unit's own ports."""

    #: The unit's state machine, named in the Verilog ``<fsm_name>_state``.
    fsm_name = "unit"

    def __init__(self, cfg: Config, ports: dict, path: str | None = None):
        self._cfg = cfg
        #: Where the unit sits below the chip (the key of its state machine's names).
        self.path = path or f"sequencer.{self.fsm_name}"
        #: ``{signal path below the chip: {state name: code}}``, filled when elaborated.
        self.fsm_states: dict[str, dict[str, int]] = {}
        super().__init__({"ctl": In(Dispatch(instruction_layout())), **ports})

    @contextmanager
    def state(self, m: Module, name: str) -> Iterator[None]:
        """A state of the unit's machine; the watchdog's abort overrides its next state."""
        with m.State(name):
            yield
            with m.If(self.ctl.abort):
                m.next = "IDLE"

    def finish(self, m: Module) -> None:
        """The instruction completes in this cycle."""
        m.d.comb += self.ctl.done.eq(1)
        m.next = "IDLE"

    def fail(self, m: Module, code: Fault) -> None:
        """The instruction faults in this cycle (the core drains and halts)."""
        m.d.comb += self.ctl.fault.eq(code)
        m.next = "IDLE"

    def record(self, fsm) -> None:
        """Record the state encoding of ``fsm`` for wave viewers."""
        self.fsm_states[f"{self.path}.{self.fsm_name}_state"] = fsm.encoding
