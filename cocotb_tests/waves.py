"""Wave files: a GTKWave save file grouped by block, and cycle sampling of a VCD.

``write_savefile`` groups every signal of the chip by the block (VCD scope) it belongs
to, shows state machines by state name through translate filter files, and works for
Icarus (``harness.``) and Verilator (``TOP.harness.``) name prefixes alike.
``sample_cycles`` reads a VCD with vcdvcd and returns each signal's value in every clock
cycle, so tests can assert properties of the waves themselves.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from vcdvcd import VCDVCD

# GTKWave trace flags (gtkwave's TraceEntFlagBits): hex, right-justified, translated,
# blank (comment) lines opening and closing a group.
HEX, RJUSTIFY, FTRANSLATED = 1 << 1, 1 << 5, 1 << 13
BLANK, GRP_BEGIN, GRP_END = 1 << 9, 1 << 23, 1 << 24

# Blocks in the order a reader follows the data: sequencer first, then its helpers.
BLOCK_ORDER = ["u_chip", "sequencer", "sequencer.decoder", "sequencer.sfu", "dma_limiter", "gb",
               "shreg", "accum", "write_engine", "write_engine.limiter"]


HARNESS_INTERNALS = {"path", "i", "runs"}  # harness bookkeeping, not hardware


def _base(name: str) -> str:
    """A VCD signal name without its bit range."""
    return name[:name.rindex("[")] if name.endswith("]") else name


def _block_of(signal: str) -> str | None:
    """The chip block a signal belongs to, or ``None`` for struct views and internals."""
    if "$" in signal or "\\" in signal:
        return None
    if _base(signal).rsplit(".", 1)[-1] in HARNESS_INTERNALS:
        return None
    path = signal.split(".")
    if "u_chip" not in path:
        return "harness"
    return ".".join(path[path.index("u_chip") + 1:-1]) or "u_chip"


def write_savefile(vcd_path: Path, fsm_states: dict[str, dict[str, int]],
                   out: Path | None = None) -> Path:
    """Write ``<vcd>.gtkw`` (and one ``.filter`` per state machine) next to the VCD."""
    vcd = VCDVCD(str(vcd_path), only_sigs=True)
    out = out or vcd_path.with_suffix(".gtkw")
    groups: dict[str, list[str]] = defaultdict(list)
    for sig in vcd.signals:
        block = _block_of(sig)
        if block is not None:
            groups[block].append(sig)
    filters = {}
    for sub, states in fsm_states.items():
        path = out.with_name(f"{out.stem}.{sub.replace('.', '_')}.filter")
        path.write_text("".join(f"{code:x} {name}\n" for name, code in
                                sorted(states.items(), key=lambda kv: kv[1])))
        filters["u_chip." + sub] = path
    order = ["harness"] + [b for b in BLOCK_ORDER if b in groups] + \
        sorted(b for b in groups if b not in BLOCK_ORDER and b != "harness")
    lines = [f'[dumpfile] "{vcd_path.resolve()}"', f'[savefile] "{out.resolve()}"',
             "[timestart] 0"]
    for block in order:
        lines += [f"@{BLANK | GRP_BEGIN:x}", f"-{block}"]
        first = ("clk", "rst", "start", "done", "halted", "fault", "busy", "phase")
        sigs = sorted(groups[block], key=lambda s: (not _base(s).endswith(first), s))
        for sig in sigs:
            key = next((k for k in filters if _base(sig).endswith(k)), None)
            if key:
                lines += [f"@{HEX | RJUSTIFY | FTRANSLATED:x}", f"^1 {filters[key].resolve()}"]
            else:
                lines.append(f"@{HEX | RJUSTIFY:x}")
            lines.append(sig)
        lines += [f"@{BLANK | GRP_END:x}", f"-{block}"]
    out.write_text("\n".join(lines) + "\n")
    return out


def find(vcd: VCDVCD, suffix: str) -> str:
    """The full name of the one signal whose base name ends with ``suffix``."""
    hits = [s for s in vcd.signals if _base(s) == suffix or _base(s).endswith("." + suffix)]
    if len(hits) != 1:
        raise KeyError(f"{len(hits)} signals match '{suffix}': {hits[:4]}")
    return hits[0]


def sample_cycles(vcd_path: Path, suffixes: list[str], clock: str = "harness.clk"
                  ) -> dict[str, list[int | None]]:
    """Each signal's value at every falling clock edge (mid-cycle, all settled); ``None``
    where the value has x or z bits."""
    vcd = VCDVCD(str(vcd_path), signals=None)
    clk = vcd[find(vcd, clock)]
    falls = [t for t, v in clk.tv if v == "0"]
    out = {}
    for suffix in suffixes:
        sig = vcd[find(vcd, suffix)]
        values = []
        for t in falls:
            v = sig[t]
            values.append(int(v, 2) if v and set(v) <= {"0", "1"} else None)
        out[suffix] = values
    return out
