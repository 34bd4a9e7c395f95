"""The glue between a network's crossbar layers that the chip computes on its VEC unit:
pooling of a layer's output map before the next layer reads it, residual adds, and
layers that read an earlier map instead of the one before them.

A topology file ``net.csv`` may have a sidecar ``net.glue.toml`` with one table per
layer, naming what happens to that layer's output on its way to the next (``pool``,
``add``) or which map it reads (``input``)::

    [conv1]
    pool = { kind = "max", size = 3, stride = 2, pad = 1 }
    [res2_1_proj]
    input = "res2_1_a:in"    # the map res2_1_a reads (its input), not res2_1_c's output
    add = "res2_1_c"         # plus res2_1_c's output, then ReLU: the residual sum

A layer may append its output to an earlier map (``concat = "map"``, channels after
the map's: DenseNet's dense layers) and pass the concatenation on to the next layer.

A layer whose input is made off the chip (``offchip = "what"``: BERT's attention, its
residual sums with layer normalization) reads it from main memory, where the layers
before it stored their outputs; the integer network cannot compute such a network.

A map is named ``L`` (layer ``L``'s requantized output) or ``L:in`` (the input map layer
``L`` reads). A layer with an ``add``, and a layer whose output is added, requantize
without ReLU; the sum is clipped to INT8 and goes through ReLU (``VEC ADD8_RELU``), as
ResNet's ``relu(branch + shortcut)``.

Pooling is defined as the chip computes it (so that the golden network and the chip
agree bit for bit): over the INT8 map, first down each window's rows, then along them,
one pair at a time (``VEC MAX8`` / ``AVG8``). Max pooling pads with zeros, which is the
identity of ``max`` here because a pooled output has been through ReLU (a layer whose
output is added, the only one not ReLU'd, is never pooled). Average pooling is a tree of
rounded pair means, so its window is 2 x 2 (no padding): ``avg(avg(a, b), avg(c, d))``,
rounded half up at each step, within one of the exact mean.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware.isa import VecFunc
from firmware.semantics import vec_lanes

KINDS = ("max", "avg")


class GlueError(ValueError):
    """A glue file that cannot be used, naming the file and table."""


def map_layer(name: str) -> tuple[str, bool]:
    """The layer a map name refers to, and whether it is that layer's input."""
    layer, _, part = name.partition(":")
    return layer, part == "in"


@dataclass(frozen=True)
class Pool:
    """A ``size`` x ``size`` pooling window at ``stride``, ``pad`` zeros on each side."""

    kind: str
    size: int
    stride: int
    pad: int = 0

    def out_size(self, n: int) -> int:
        """Output rows (or columns) of an ``n``-row input."""
        return (n + 2 * self.pad - self.size) // self.stride + 1

    def taps(self, o: int, n: int) -> list[int]:
        """Input rows (or columns) of output ``o`` inside an ``n``-row input (padding
        dropped: it is zero, the identity of max over ReLU'd maps)."""
        first = o * self.stride - self.pad
        return [r for r in range(first, first + self.size) if 0 <= r < n]

    def check(self, where: str) -> None:
        """Refuse a window the chip's pair operations cannot compute."""
        if self.kind not in KINDS:
            raise GlueError(f"{where}: pool kind '{self.kind}'; expected one of "
                            f"{', '.join(KINDS)}")
        for name, v, lo in (("size", self.size, 1), ("stride", self.stride, 1),
                            ("pad", self.pad, 0)):
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise GlueError(f"{where}: pool {name} is {v!r}; expected an integer "
                                f">= {lo}")
        if self.pad >= self.size:
            raise GlueError(f"{where}: pool pad {self.pad} must be below its size "
                            f"{self.size}")
        if self.kind == "avg" and (self.size != 2 or self.pad):
            raise GlueError(f"{where}: average pooling is a tree of pair means: size 2 "
                            f"and pad 0 (got size {self.size}, pad {self.pad})")


def _pair(kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """VEC MAX8 or AVG8 of two INT8 arrays."""
    return vec_lanes(VecFunc.MAX8 if kind == "max" else VecFunc.AVG8, a, b)


def _chain(kind: str, items: list[np.ndarray]) -> np.ndarray:
    """The items combined pair by pair, in order (as a chain of VECs does)."""
    acc = items[0]
    for item in items[1:]:
        acc = _pair(kind, acc, item)
    return acc


def pool_map(x: np.ndarray, pool: Pool) -> np.ndarray:
    """``pool`` of the HWC INT8 map ``x`` as the chip computes it: for each output row,
    its input rows combined in order, then each output column's positions in order."""
    x = np.asarray(x, dtype=np.int64)
    h, w = x.shape[:2]
    rows = []
    for oy in range(pool.out_size(h)):
        t = _chain(pool.kind, [x[r] for r in pool.taps(oy, h)])
        rows.append(np.stack([_chain(pool.kind, [t[q] for q in pool.taps(ox, w)])
                              for ox in range(pool.out_size(w))]))
    return np.stack(rows)


def glue_path(topology: str | Path) -> Path:
    """The sidecar glue file of a topology file."""
    p = Path(topology)
    return p.with_name(p.stem + ".glue.toml")


@dataclass(frozen=True)
class Glue:
    """What happens around one layer: its output pooled, added to the map ``add`` or
    appended to the map ``concat``;
    its input read from the map ``input`` instead of the previous layer's output, or
    made off the chip (``offchip`` says what computes it)."""

    pool: Pool | None = None
    add: str | None = None
    input: str | None = None
    offchip: str | None = None
    concat: str | None = None


def _map_name(value: object, where: str, key: str, layers: list[str], at: int) -> str:
    """Check a map reference of layer ``at``'s ``key``: ``L`` or ``L:in`` of a layer
    before it (an ``add`` may also name the layer's own input)."""
    if not isinstance(value, str):
        raise GlueError(f"{where}: {key} is {value!r}; expected a map name 'L' or 'L:in'")
    layer, is_in = map_layer(value)
    if layer not in layers or value.count(":") > 1 or (":" in value and not is_in):
        raise GlueError(f"{where}: {key} = '{value}' names no map; expected 'L' (layer L's "
                        "output) or 'L:in' (its input) of a layer of the topology")
    if layers.index(layer) >= at + (is_in and key in ("add", "concat")):
        raise GlueError(f"{where}: {key} = '{value}' is not computed before this layer")
    return value


def read_glue(path: str | Path, layers: list[str]) -> dict[str, Glue]:
    """The glue of a glue file, by layer (each a layer of ``layers``); errors name the
    file and table."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise GlueError(f"{path}: cannot read the glue file: {e}") from e
    out: dict[str, Glue] = {}
    for name, table in raw.items():
        where = f"{path}: [{name}]"
        if name not in layers:
            raise GlueError(f"{where}: no layer of that name in the topology")
        keys = set(table) if isinstance(table, dict) else set()
        if not keys or keys - {"pool", "add", "input", "offchip", "concat"}:
            raise GlueError(f"{where}: keys {sorted(keys)}; expected some of pool = {{ kind, "
                            "size, stride, pad }, add = 'map', input = 'map', concat = 'map', "
                            "offchip = 'what computes the input'")
        if len(keys & {"pool", "add", "concat"}) > 1:
            raise GlueError(f"{where}: a layer pools, adds or concatenates its output, "
                            "one of them")
        offchip = table.get("offchip")
        if offchip is not None and (not isinstance(offchip, str) or not offchip or
                                    "input" in keys):
            raise GlueError(f"{where}: offchip is {offchip!r}; expected a description of "
                            "what makes the input off the chip (and no input key)")
        index = layers.index(name)
        if keys & {"pool", "add", "concat"} and name == layers[-1]:
            raise GlueError(f"{where}: the last layer's output goes to main memory as "
                            "int32; it has no pool, add or concat")
        add = _map_name(table["add"], where, "add", layers, index) if "add" in keys else None
        concat = _map_name(table["concat"], where, "concat", layers, index) \
            if "concat" in keys else None
        inp = _map_name(table["input"], where, "input", layers, index) \
            if "input" in keys else None
        if "pool" not in keys:
            out[name] = Glue(add=add, input=inp, offchip=offchip, concat=concat)
            continue
        if not isinstance(table["pool"], dict):
            raise GlueError(f"{where}: pool is {table['pool']!r}; expected pool = {{ kind, "
                            "size, stride, pad }")
        spec = dict(table["pool"])
        unknown = set(spec) - {"kind", "size", "stride", "pad"}
        missing = {"kind", "size", "stride"} - set(spec)
        if unknown or missing:
            raise GlueError(f"{where}: pool keys {sorted(spec)}; expected kind, size, "
                            "stride and optionally pad")
        pool = Pool(spec["kind"], spec["size"], spec["stride"], spec.get("pad", 0))
        pool.check(where)
        out[name] = Glue(pool=pool, input=inp, offchip=offchip)
    return out


def render_glue(glue: dict[str, Glue], title: str) -> str:
    """A glue file for ``glue`` (what :func:`read_glue` reads back)."""
    lines = [f"# {title}", ""]
    for name, g in glue.items():
        lines.append(f"[{name}]")
        if g.input:
            lines.append(f'input = "{g.input}"')
        if g.add:
            lines.append(f'add = "{g.add}"')
        if g.offchip:
            lines.append(f'offchip = "{g.offchip}"')
        if g.concat:
            lines.append(f'concat = "{g.concat}"')
        if (p := g.pool) is not None:
            pad = f", pad = {p.pad}" if p.pad else ""
            lines.append(f'pool = {{ kind = "{p.kind}", size = {p.size}, stride = '
                         f'{p.stride}{pad} }}')
        lines.append("")
    return "\n".join(lines)
