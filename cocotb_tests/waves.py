"""Wave files: a GTKWave save file grouped by block, and cycle sampling of the waves.

``write_savefile`` groups every signal of the chip by the block (scope) it belongs to,
spelling each name as GTKWave does (it drops signals a save file misspells), and shows
state machines by state name and enum-shaped signals (opcode, fault: :mod:`hdl.shapes`)
by member name through translate filter files; for Icarus's VCD and
Verilator's FST alike. ``sample_cycles`` reads a VCD (an FST through GTKWave's fst2vcd)
with vcdvcd and returns each signal's value in every clock cycle, so tests can assert
properties of the waves themselves. ``open_in_gtkwave`` opens a wave file and its save
file in GTKWave itself, under a virtual X server, and reports what it loaded.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vcdvcd import VCDVCD

# GTKWave trace flags (gtkwave's TraceEntFlagBits): hex, right-justified, translated,
# blank (comment) lines opening and closing a group.
HEX, RJUSTIFY, FTRANSLATED = 1 << 1, 1 << 5, 1 << 13
BLANK, GRP_BEGIN, GRP_END = 1 << 9, 1 << 23, 1 << 24

# Blocks in the order a reader follows the data: sequencer first, then its helpers.
BLOCK_ORDER = ["u_chip", "sequencer", "sequencer.core", "sequencer.core.decoder",
               "sequencer.dma", "sequencer.vec", "sequencer.sfu_ctrl", "sequencer.sfu_ctrl.sfu",
               "sequencer.vmm", "sequencer.inv", "sequencer.combine_ctrl", "dma_limiter", "gb",
               "shreg", "accum", "write_engine", "write_engine.limiter"]


HARNESS_INTERNALS = {"path", "i", "runs"}  # harness bookkeeping, not hardware


def _base(name: str) -> str:
    """A VCD signal name without its bit range."""
    return name[:name.rindex("[")] if name.endswith("]") else name


FST_TIMEOUT = 300  # seconds for fst2vcd to convert a wave file


def _fst2vcd() -> str:
    exe = shutil.which("fst2vcd")
    if exe is None:
        raise FileNotFoundError("reading an FST wave file needs 'fst2vcd', which was not found; "
                                "install GTKWave, which ships it: sudo apt-get install gtkwave")
    return exe


@contextmanager
def as_vcd(wave: Path) -> Iterator[Path]:
    """``wave`` itself if it is a VCD, else a temporary VCD converted from the FST."""
    if wave.suffix != ".fst":
        yield wave
        return
    with tempfile.TemporaryDirectory() as tmp:
        vcd = Path(tmp) / (wave.stem + ".vcd")
        subprocess.run([_fst2vcd(), "-f", str(wave), "-o", str(vcd)], check=True,
                       capture_output=True, timeout=FST_TIMEOUT)
        yield vcd


@contextmanager
def _header_lines(wave: Path) -> Iterator[Iterator[str]]:
    """The lines of a wave file as VCD, the header first (an FST is converted on the fly
    and the conversion stopped once the header has been read)."""
    if wave.suffix != ".fst":
        with open(wave) as fh:
            yield fh
        return
    proc = subprocess.Popen([_fst2vcd(), "-f", str(wave)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    timer = threading.Timer(FST_TIMEOUT, proc.kill)  # a hung converter ends the read
    timer.start()
    try:
        yield proc.stdout
    finally:
        timer.cancel()
        proc.kill()
        proc.communicate(timeout=FST_TIMEOUT)


def vcd_vars(wave: Path) -> Iterator[tuple[list[str], str, str, str | None]]:
    """Each variable declared in a wave file's header: (scope path, type, reference,
    range); FST files are read through fst2vcd."""
    scopes: list[str] = []
    with _header_lines(wave) as fh:
        tokens = (t for line in fh for t in line.split())
        for tok in tokens:
            if tok == "$scope":
                next(tokens)
                scopes.append(next(tokens))
            elif tok == "$upscope":
                scopes.pop()
            elif tok == "$var":
                decl = []
                for t in tokens:
                    if t == "$end":
                        break
                    decl.append(t)
                if len(decl) < 4:
                    raise ValueError(f"{wave}: a $var declaration is cut short: {decl}")
                kind, ref = decl[0], decl[3]
                yield list(scopes), kind, ref, decl[4] if len(decl) > 4 else None
            elif tok == "$enddefinitions":
                return
    # A header that stops short: a cut file, or a converter that failed part-way.
    raise ValueError(f"{wave}: the wave header ends before $enddefinitions (a cut file, or "
                     "fst2vcd failed on it)")


def gtkwave_name(scope: list[str], kind: str, ref: str, bits: str | None) -> str:
    """The name GTKWave gives a variable (a save file must spell it so): integers and
    parameters show no range, and a one-bit range ``[0:0]`` shows as ``[0]``."""
    if bits is None or kind in ("integer", "parameter", "real", "event", "time", "realtime"):
        return ".".join(scope + [ref])
    msb, _, lsb = bits.strip("[]").partition(":")
    return ".".join(scope + [ref]) + (f"[{msb}]" if msb == lsb or not lsb else bits)


def _block_of(scope: list[str], ref: str) -> str | None:
    """The chip block a variable belongs to, or ``None`` for struct views (their fields
    are in the packed vector), Yosys's internal names and the harness's bookkeeping."""
    if "." in ref or "$" in ref or ref.startswith(("\\", "_")):
        return None
    if "u_chip" not in scope:
        return None if ref in HARNESS_INTERNALS else "harness"
    return ".".join(scope[scope.index("u_chip") + 1:]) or "u_chip"


def _write_filter(path: Path, states: dict[str, int], sig: str) -> None:
    """A translate filter file: GTKWave matches each value as it displays it, in hex with
    as many digits as the signal needs (``0D``, not ``d``), and shows the name instead."""
    width = 1
    if sig.endswith("]"):
        msb, _, lsb = sig[sig.rindex("[") + 1:-1].partition(":")
        width = abs(int(msb) - int(lsb or msb)) + 1
    digits = (width + 3) // 4
    path.write_text("".join(f"{code:0{digits}X} {name}\n" for name, code in
                            sorted(states.items(), key=lambda kv: kv[1])))


def write_savefile(wave: Path, fsm_states: dict[str, dict[str, int]],
                   out: Path | None = None) -> Path:
    """Write ``<wave>.gtkw`` (and one ``.filter`` per state machine) next to the wave file."""
    out = out or wave.with_suffix(".gtkw")
    groups: dict[str, list[str]] = defaultdict(list)
    for scope, kind, ref, bits in vcd_vars(wave):
        block = _block_of(scope, ref)
        if block is not None:
            groups[block].append(gtkwave_name(scope, kind, ref, bits))
    if not groups:
        raise ValueError(f"{wave}: no signals of the harness or the chip in its header")
    filters = {"u_chip." + sub: out.with_name(f"{out.stem}.{sub.replace('.', '_')}.filter")
               for sub in fsm_states}
    # A block of the order, then its numbered copies (accum -> accum0_0, sfu -> sfu1).
    order = ["harness"] + [b for name in BLOCK_ORDER for b in sorted(groups) if b == name or
                           (b.startswith(name) and b[len(name)] in "0123456789_")]
    order += sorted(b for b in groups if b not in order)
    lines = [f'[dumpfile] "{wave.resolve()}"', f'[savefile] "{out.resolve()}"',
             "[timestart] 0"]
    for block in order:
        lines += [f"@{BLANK | GRP_BEGIN:x}", f"-{block}"]
        first = ("clk", "rst", "start", "done", "halted", "fault", "busy", "phase")
        # Control signals first, Verilog parameters (upper case: Verilator dumps them) last.
        sigs = sorted(groups[block], key=lambda s: (not _base(s).endswith(first),
                                                    _base(s).rsplit(".", 1)[-1].isupper(), s))
        for sig in sigs:
            key = next((k for k in filters if _base(sig).endswith(k)), None)
            if key:
                _write_filter(filters[key], fsm_states[key[len("u_chip."):]], sig)
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


def sample_cycles(wave: Path, suffixes: list[str], clock: str = "harness.clk"
                  ) -> dict[str, list[int | None]]:
    """Each signal's value at every falling clock edge (mid-cycle, all settled); ``None``
    where the value has x or z bits. Reads a VCD, or an FST through fst2vcd."""
    with as_vcd(wave) as vcd_path:
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


GTKWAVE_TCL = """\
puts "PIM_FACS [gtkwave::getNumFacs]"
foreach s [gtkwave::getDisplayedSignals] { puts "PIM_SIGNAL $s" }
for {set i 0} {$i < [gtkwave::getTotalNumTraces]} {incr i} {
    if {[gtkwave::getTraceFlagsFromIndex $i] & GRP_BEGIN} {
        puts "PIM_GROUP [gtkwave::getTraceNameFromIndex $i]"
    }
}
gtkwave::setMarker [gtkwave::getMaxTime]
foreach s [gtkwave::getDisplayedSignals] {
    puts "PIM_END $s=[gtkwave::getTraceValueAtMarkerFromName $s]"
}
gtkwave::/File/Quit
""".replace("GRP_BEGIN", str(GRP_BEGIN))


@dataclass
class GtkwaveView:
    """What GTKWave loaded from a wave file and a save file."""

    facilities: int
    signals: list[str]
    groups: list[str]
    errors: list[str]
    at_end: dict[str, str]  # each signal's value as displayed (translated) at the end


def _gtkwave(args: list[str], cwd: str, timeout: float) -> tuple[int, str]:
    """Run gtkwave under xvfb-run in its own session (on a timeout, xvfb-run, Xvfb and
    gtkwave all end together); its status and output."""
    proc = subprocess.Popen(["xvfb-run", "-a", "gtkwave", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=cwd,
                            env={**os.environ, "HOME": cwd}, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise TimeoutError(f"gtkwave {args[-2]}: did not finish within {timeout} s") from None
    return proc.returncode, out


def open_in_gtkwave(wave: Path, savefile: Path, timeout: float = 120) -> GtkwaveView:
    """Open ``wave`` with ``savefile`` in GTKWave under a virtual X server (xvfb-run) and
    report what it loaded, so a test sees what a user would."""
    for exe in ("gtkwave", "xvfb-run"):
        if shutil.which(exe) is None:
            raise FileNotFoundError(f"'{exe}' is not on PATH; install it with: "
                                    "sudo apt-get install gtkwave xvfb")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "report.tcl"
        script.write_text(GTKWAVE_TCL)
        for _ in range(3):  # two `xvfb-run -a` at once may pick one display; one retries
            returncode, out = _gtkwave(["-S", str(script), str(wave.resolve()),
                                        str(savefile.resolve())], tmp, timeout)
            if "Xvfb failed to start" not in out:
                break
    lines = out.splitlines()
    facs = [int(line.split()[1]) for line in lines if line.startswith("PIM_FACS ")]
    errors = [line for line in lines if "error" in line.lower()
              and not line.startswith("PIM_")]  # a signal may be called error_count
    if returncode != 0 and not errors:
        errors.append(f"gtkwave exited with status {returncode}: {out[-500:]}")
    return GtkwaveView(facs[0] if facs else 0,
                       [line[len("PIM_SIGNAL "):] for line in lines
                        if line.startswith("PIM_SIGNAL ")],
                       [line[len("PIM_GROUP "):] for line in lines
                        if line.startswith("PIM_GROUP ")], errors,
                       dict(line[len("PIM_END "):].partition("=")[::2] for line in lines
                            if line.startswith("PIM_END ")))


def savefile_signals(savefile: Path) -> tuple[list[str], list[str]]:
    """The signals and the group names a save file lists, in order."""
    lines = savefile.read_text().splitlines()
    signals = [line for line in lines if line[:1].isalpha() or line[:1] == "\\"]
    groups, prev = [], ""
    for line in lines:
        if line.startswith("-") and int(prev.lstrip("@"), 16) & GRP_BEGIN:
            groups.append(line[1:])
        prev = line
    return signals, groups
