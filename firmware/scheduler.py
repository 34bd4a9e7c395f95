"""Schedulers: turn a workload into a program and a main-memory image.

The single-VMM slice, and whole networks: ARAS's five schedulers (``naive``,
``baseline``, ``+banks``, ``+replication``, ``+reuse``) and BasisN's, at co-simulation
scale (an image that computes the network) and at full chip scale (the program and its
writes' costs, for the timing and energy models).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware import isa, weight_reuse
from firmware.basisn import BasisFit
from firmware.config import Config
from firmware.cycles import burst_cycles, row_write_floor, vmm_pass_cycles
from firmware.image import Image, Region
from firmware.isa import Instruction, SfuFunc, Window
from firmware.mapper import (
    LayerMap,
    group_delta_words,
    map_layer,
    row_delta_words,
    unsigned_levels,
    weights_to_levels,
)
from firmware.network import Layer, Network, NetworkError, feeds, flattens, im2col
from firmware.packing import pack
from firmware.weight_reuse import Reuse
from firmware.write_plan import WriteRows, write_rows


def append_words(dram: list[int], words: list[int]) -> int:
    """Append ``words`` to the main-memory image ``dram``; return their first address."""
    dram.extend(words)
    return len(dram) - len(words)


def single_vmm(cfg: Config, weights: np.ndarray, x: np.ndarray, xbar: int = 0) -> Image:
    """The vertical slice: write one crossbar's weights, load activations, run one VMM.

    The write is started first so that the activation load overlaps it; the VMM then
    stalls on the crossbar scoreboard until the write is done (no explicit barrier).
    Main memory holds ``x`` (INT8), the row deltas from an erased crossbar, and room for
    the int32 outputs.
    """
    R = cfg.crossbar.rows
    x = np.asarray(x)
    if x.shape != (R,):
        raise ValueError(f"x must hold {R} activations (one per crossbar row), got {x.shape}")
    if not 0 <= xbar < cfg.n_crossbars:
        raise ValueError(f"xbar {xbar} out of range 0..{cfg.n_crossbars - 1}")
    levels = weights_to_levels(weights, cfg)
    erased = np.zeros_like(levels)
    act_words = pack(x, cfg.data.act_bits, cfg.dram_bits)
    delta_words = row_delta_words(erased, levels, cfg)

    act_addr = 0
    delta_addr = act_addr + len(act_words)
    out_addr = delta_addr + len(delta_words)
    dram = act_words + delta_words + [0] * cfg.output_words
    gb_in, gb_out = 0, cfg.input_words

    program = [
        Instruction.make("WRITE_START", xbar=xbar, dram_addr=delta_addr, row=0, nrows=R),
        Instruction.make("LOAD", gb_addr=gb_in, dram_addr=act_addr, count=cfg.input_words),
        Instruction.make("VMM", xbar=xbar, in_addr=gb_in, out_addr=gb_out, accumulate=0),
        Instruction.make("STORE", dram_addr=out_addr, gb_addr=gb_out, count=cfg.output_words),
        Instruction.make("HALT"),
    ]
    regions = {
        "activations": Region(act_addr, len(act_words), cfg.data.act_bits, R),
        "deltas": Region(delta_addr, len(delta_words), cfg.write.delta_bits,
                         R * cfg.crossbar.cols),
        "outputs": Region(out_addr, cfg.output_words, cfg.data.acc_bits, cfg.weights_per_row),
    }
    return Image.build(cfg, program, dram, regions)


# ---- whole networks ------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Crossbars a layer's part occupies at once: column groups ``groups`` with row
    blocks ``blocks`` (a whole multiple of the segment group when the layer is cut by
    rows), one APU row per (group, block) from APU row 0 on."""

    groups: range
    blocks: range


def layer_parts(lm: LayerMap, cfg: Config, cap: int | None = None) -> list[Part]:
    """Cut a layer that needs more than ``cap`` APU rows (default: all of the chip's)
    into parts."""
    cap = cfg.n_apu_rows if cap is None else cap
    if lm.row_blocks <= cap:
        per = cap // lm.row_blocks
        return [Part(range(g, min(g + per, lm.col_groups)), range(lm.row_blocks))
                for g in range(0, lm.col_groups, per)]
    # Cut between kernel rows (whole segment groups), or anywhere in a 1-row kernel.
    step = cap if lm.layer.filter_h == 1 else (cap // lm.seg_group) * lm.seg_group
    if step == 0:
        raise ValueError(f"layer '{lm.layer.name}': one kernel row needs {lm.seg_group} APU "
                         f"rows; the chip has {cap}")
    return [Part(range(g, g + 1), range(k, min(k + step, lm.row_blocks)))
            for g in range(lm.col_groups) for k in range(0, lm.row_blocks, step)]


@dataclass
class Schedule:
    """A network's firmware: the program, the row figures of each ``WRITE_START`` (in
    program order), the layer each instruction belongs to (-1: none), and, when main
    memory was filled in (networks small enough to co-simulate), the image."""

    network: str
    scheduler: str
    program: list[Instruction]
    writes: list[WriteRows]
    layer_of: list[int]
    layer_names: tuple[str, ...]
    write_layers: list[tuple[int, ...]]
    dram_words: int
    image: Image | None = None
    #: Partial weight reuse: the shifts chosen (``+reuse``), else None.
    reuse: Reuse | None = None
    #: Weight copies of each layer (1: not replicated; the most over its parts).
    replicas: tuple[int, ...] = ()


def naive(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray,
          shifts: list[int]) -> Image:
    """ARAS's naive schedule (Fig. 7): for each part of each layer, write its weights
    (one lockstep group write), wait, then compute every window; ReLU and REQUANT in
    the SFU between layers. The first layer's input is unrolled (im2col) by the host;
    the others read their HWC map through segment groups. The last layer's int32
    outputs are stored to main memory (region ``outputs``)."""
    return schedule(cfg, net, qs, "naive", x, shifts).image


def baseline(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray,
             shifts: list[int]) -> Image:
    """ARAS's baseline: weight writes overlap compute as crossbars free up. Consecutive
    parts are packed into batches, each one lockstep group write into the APU rows
    beside the batch computing before it, issued before that batch computes so that it
    runs in the background; the crossbar scoreboard holds each VMM until its own part is
    written (no barriers). A part that fits beside nothing is written after the batch
    before it has computed."""
    return schedule(cfg, net, qs, "baseline", x, shifts).image


def banks(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray,
          shifts: list[int]) -> Image:
    """ARAS's +banks: the baseline with each layer's buffers placed in global-buffer banks
    chosen by an integer linear program (:func:`select_banks`) and every other bank
    power-gated while the layer runs (``BANK_GATE`` before each layer)."""
    return schedule(cfg, net, qs, "+banks", x, shifts).image


@dataclass(frozen=True)
class Policy:
    """What a named scheduler does beyond naive (ARAS section VI's four configurations
    build on each other): overlap writes with compute, gate global-buffer banks,
    replicate slow layers' weights, shift weights for partial reuse."""

    overlap: bool = False
    gate: bool = False
    replicate: bool = False
    reuse: bool = False


#: The network schedulers' policies by name.
POLICIES = {
    "naive": Policy(),
    "baseline": Policy(overlap=True),
    "+banks": Policy(overlap=True, gate=True),
    "+replication": Policy(overlap=True, gate=True, replicate=True),
    "+reuse": Policy(overlap=True, gate=True, replicate=True, reuse=True),
}


def schedule(cfg: Config, net: Network, qs: list[np.ndarray], name: str,
             x: np.ndarray | None = None, shifts: list[int] | None = None) -> Schedule:
    """Firmware for ``net`` with INT8 weights ``qs`` by scheduler ``name``.

    With an input ``x`` (and REQUANT ``shifts``) main memory is filled in and the
    schedule carries an :class:`Image` that computes the network; without, only the
    program and its writes' row figures are made (no main-memory contents), which is
    what the timing and energy models need at full chip scale."""
    if name not in POLICIES:
        raise ValueError(f"unknown scheduler '{name}'; expected one of {', '.join(POLICIES)}")
    return _Planner(cfg, net, qs, x, shifts, name, POLICIES[name]).run()


def write_bound(cfg: Config, net: Network, qs: list[np.ndarray]) -> Schedule:
    """Every weight written once and nothing computed: the parts of all layers packed in
    order into as few lockstep group writes as the APU rows allow. Its time is ARAS's
    upper bound on performance (the lowest time per inference the writes permit)."""
    return _Planner(cfg, net, qs, None, None, "write-bound", Policy()).write_only()


def replication(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray,
                shifts: list[int]) -> Image:
    """ARAS's +replication (Algorithm 1, as far as the paper describes it): +banks, and
    the APU rows a batch leaves free are given to copies of its slowest layers' weights,
    each copy computing other windows in parallel (``VMM replicas``), the slowest layer
    first, until the batch computes no longer than the next write takes or no rows are
    left."""
    return schedule(cfg, net, qs, "+replication", x, shifts).image


def reuse(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray,
          shifts: list[int]) -> Image:
    """ARAS's +reuse (all optimizations): +replication with every layer but the first
    shifted to a common centre for partial weight reuse (:mod:`firmware.weight_reuse`),
    the shift compensated in the VMM's digital offset removal (``zero``)."""
    return schedule(cfg, net, qs, "+reuse", x, shifts).image


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


def _chained(prev: Layer, nxt: Layer) -> bool:
    """Does ``prev``'s output map feed ``nxt`` directly (zero padding or flattening)?"""
    try:
        feeds(prev, nxt)
    except NetworkError:
        return False
    return True


class _Planner:
    """Layer by layer, part by part (ARAS Fig. 7 and 8).

    Feature maps live in the global buffer when they fit (``resident``); a map that
    does not is kept in main memory and the rows each output row needs are loaded into a
    window area (``streamed``). A layer's output goes straight into the next layer's
    resident map when the next layer reads it as it is (:func:`network.feeds`);
    otherwise each finished run of outputs is stored to main memory. Layers that do not
    chain (pooling, residual branches, concatenation and attention in between, which are
    not crossbar work) read their input from a main-memory region of their own: that
    glue runs off the chip and only its main-memory traffic is counted."""

    def __init__(self, cfg: Config, net: Network, qs: list[np.ndarray],
                 x: np.ndarray | None, shifts: list[int] | None, name: str,
                 policy: Policy) -> None:
        self.cfg, self.net, self.qs, self.name = cfg, net, qs, name
        self.gate, self.replicate = policy.gate, policy.replicate
        self.materialize = x is not None
        self.x = x
        layers = net.layers
        L = len(layers)
        if len(qs) != L:
            raise ValueError(f"{net.name}: {len(qs)} weight arrays for {L} layers")
        self.shifts = list(shifts) if shifts is not None else [0] * L
        wb = cfg.global_buffer.word_bytes
        self.maps = [map_layer(layer, cfg, im2col=(i == 0)) for i, layer in enumerate(layers)]
        self.chained = [_chained(layers[i], layers[i + 1]) for i in range(L - 1)] + [False]
        unit, what = self._output_unit()
        for i, layer in enumerate(layers[:-1]):  # outputs feed on: packed, word-aligned
            if self.chained[i] and (layer.filters % unit or layer.filters % wb):
                raise ValueError(f"layer '{layer.name}': its {layer.filters} output channels "
                                 f"must fill whole {what} ({unit} outputs) and {wb}-byte "
                                 "words")
            if self.materialize and not self.chained[i]:
                feeds(layer, layers[i + 1])   # raises, naming the layers
        self.pos_words = [self._position_words(i) for i in range(L)]
        self.overlap = policy.overlap
        self.parts = [self._layer_parts(lm) for lm in self.maps]
        self.reuse_weights = policy.reuse
        self.reuse: Reuse | None = None
        self.zero = [0] * L     # per-layer weight shift (partial reuse), set in run()
        self.runs = [self._run(i) for i in range(L)]
        self.scratch_of = [self._scratch_words(i) for i in range(L)]
        self._place()

    # ---- what the datapath needs (overridden by the BasisN planner) -------------------

    def _output_unit(self) -> tuple[int, str]:
        """Outputs a layer must come in multiples of to feed the next one, and of what."""
        return self.cfg.weights_per_row, "crossbars"

    def _layer_parts(self, lm: LayerMap) -> list[Part]:
        """The parts a layer's weights are written in (:func:`layer_parts`)."""
        return layer_parts(lm, self.cfg)

    def _position_words(self, i: int) -> int:
        """int32 output words per position: column group g at g * apu_cols * output_words."""
        lm, cfg = self.maps[i], self.cfg
        return ((lm.col_groups - 1) * cfg.apu_cols + lm.group_cols[-1]) * cfg.output_words

    def _scratch_words(self, i: int) -> int:
        """int32 scratch of layer ``i``: a layer in one part is finished run by run; a
        layer cut into parts accumulates its whole output first."""
        layer = self.net.layers[i]
        rows = layer.windows if len(self.parts[i]) > 1 else self.runs[i]
        return rows * self.pos_words[i]

    # ---- sizes -----------------------------------------------------------------------

    def _flat(self, i: int) -> bool:
        """Are layer ``i``'s windows at a constant stride in its input map (unrolled
        input, or a 1x1 stride-1 filter), so that a run may span output rows?"""
        layer = self.net.layers[i]
        return self.maps[i].mode == "im2col" or (
            layer.filter_h == layer.filter_w == layer.stride == 1)

    def _run(self, i: int) -> int:
        """Output positions computed and finished together: one output row, or for
        one-column maps (token sequences) as many as a scratch of 1/8 of the buffer
        holds, when the destination of their outputs is contiguous."""
        layer, cfg = self.net.layers[i], self.cfg
        contiguous = i == len(self.net.layers) - 1 or not self.chained[i] or \
            feeds(layer, self.net.layers[i + 1]) == 0
        if layer.ofmap_w > 1 or not self._flat(i) or not contiguous:
            return layer.ofmap_w
        budget = cfg.gb_words // 8 // self.pos_words[i]
        return max(1, min(layer.windows, budget, (1 << isa.COUNT) - 1))

    def _in_stride(self, i: int) -> int:
        """Global-buffer words between consecutive windows of layer ``i``."""
        layer, lm, wb = self.net.layers[i], self.maps[i], self.cfg.global_buffer.word_bytes
        if lm.mode == "im2col":
            return lm.row_blocks * self.cfg.input_words
        return layer.stride * layer.channels // wb

    def _map_words(self, i: int) -> int:
        """Words of layer ``i``'s whole input map (unrolled for im2col)."""
        layer, lm = self.net.layers[i], self.maps[i]
        if lm.mode == "im2col":
            return layer.windows * lm.row_blocks * self.cfg.input_words
        return -(-layer.ifmap_bytes // self.cfg.global_buffer.word_bytes)

    def _rows_words(self, i: int) -> int:
        """Words of the input one run reads: the run's unrolled windows, its positions
        (flat), or the filter's rows of the map."""
        layer, lm = self.net.layers[i], self.maps[i]
        if self._flat(i):
            return self.runs[i] * self._in_stride(i)
        return layer.filter_h * lm.group_stride(self.cfg)

    def _slack(self, i: int) -> int:
        """Words after a map that the last window's segments over-read: a kernel row's
        last row block reads whole input words past the row's own activations."""
        lm, layer = self.maps[i], self.net.layers[i]
        if lm.mode == "im2col":
            return 0
        row_words = -(-layer.filter_w * layer.channels // self.cfg.global_buffer.word_bytes)
        return max(0, lm.seg_group * self.cfg.input_words - row_words)

    def _int8_words(self, i: int, n: int) -> int:
        """Words of ``n`` positions of layer ``i``'s INT8 outputs as REQUANT packs them:
        every weight column of its crossbars (the unused columns of a partly used
        crossbar compute with whatever they hold: outputs nobody reads)."""
        return -(-n * self.pos_words[i] // 4)

    # ---- placement -------------------------------------------------------------------

    def _place(self) -> None:
        """Decide which maps are resident and where every buffer lives."""
        cfg, layers, L = self.cfg, self.net.layers, len(self.net.layers)
        full = [self._map_words(i) + self._slack(i) for i in range(L)]
        window = [self._rows_words(i) + self._slack(i) for i in range(L)]
        rowbuf = [self._int8_words(i, self.runs[i]) for i in range(L)]
        scratch = max(self.scratch_of)
        if self.gate:
            cap = max(hi - lo for lo, hi in cfg.bank_bounds)
        else:
            cap = (cfg.gb_words - scratch - max(rowbuf)) // 2
        self.resident = [f <= cap for f in full]
        self.in_size = [f if r else w for f, r, w in zip(full, self.resident, window,
                                                         strict=True)]
        # Where a layer's INT8 outputs go: the next layer's map, or a row buffer that is
        # stored to main memory (the last layer stores its int32 scratch directly).
        self.into_next = [i < L - 1 and self.chained[i] and self.resident[i + 1]
                          for i in range(L)]
        self.row_size = [0 if self.into_next[i] or i == L - 1 else rowbuf[i]
                         for i in range(L)]
        self.masks: list[int | None] = [None] * L
        if self.gate:
            # Buffers: each layer's input (map or window area), int32 scratch and row
            # buffer; layer i needs its input, scratch, and the next map or its row buffer.
            sizes = self.in_size + self.scratch_of + [max(1, r) for r in self.row_size]
            live = [[i, L + i] + ([i + 1] if self.into_next[i] else
                                  [2 * L + i] if self.row_size[i] else []) for i in range(L)]
            weights = [float(layer.windows * len(p)) for layer, p in zip(layers, self.parts,
                                                                          strict=True)]
            bank_of = select_banks(cfg, sizes, live, weights)
            starts = [cfg.bank_bounds[k][0] for k in bank_of]
            self.in_at, self.scratch_at = starts[:L], starts[L:2 * L]
            self.row_at = starts[2 * L:]
            self.masks = [sum(1 << bank_of[b] for b in bufs) for bufs in live]
            return
        area = max(self.in_size)
        self.in_at = [(i % 2) * area for i in range(L)]
        self.scratch_at = [2 * area] * L
        self.row_at = [2 * area + scratch] * L
        need = 2 * area + scratch + max(self.row_size)
        if need > cfg.gb_words:
            raise ValueError(f"{self.net.name}: needs {need} global-buffer words (two "
                             f"activation areas of {area}, {scratch} of int32 outputs and "
                             f"{max(self.row_size)} of output rows); {cfg.source} has "
                             f"{cfg.gb_words}")

    # ---- emission --------------------------------------------------------------------

    def _emit(self, insn: Instruction) -> None:
        self.program.append(insn)
        self.layer_of.append(self.layer)

    def _dma(self, op: str, gb: int, dram: int, n: int) -> None:
        """LOAD or STORE ``n`` words, cut into transfers the count field can express."""
        most = (1 << isa.COUNT) - 1
        for k in range(0, n, most):
            self._emit(Instruction.make(op, gb_addr=gb + k, dram_addr=dram + k,
                                        count=min(most, n - k)))

    def _alloc(self, words: list[int] | int) -> int:
        """Main-memory words for ``words`` (filled in only when materializing)."""
        n = words if isinstance(words, int) else len(words)
        addr = self.dram_words
        self.dram_words += n
        if self.materialize:
            self.dram.extend([0] * n if isinstance(words, int) else words)
        return addr

    def _tiles(self, i: int) -> np.ndarray:
        """Unsigned weights of every crossbar of layer ``i``: (row block, column group,
        crossbar row, crossbar of the APU row, weight column), zero weights padding."""
        if self._tile_cache[0] == i:
            return self._tile_cache[1]
        cfg, lm = self.cfg, self.maps[i]
        R, wpr, ac = cfg.crossbar.rows, cfg.weights_per_row, cfg.apu_cols
        q = np.asarray(self.qs[i])
        if q.shape != (lm.layer.kernel_rows, lm.layer.filters):
            raise ValueError(f"layer '{lm.layer.name}': weights of shape {q.shape}; expected "
                             f"{(lm.layer.kernel_rows, lm.layer.filters)}")
        lo, hi = -cfg.weight_offset, cfg.weight_offset - 1
        if q.size and (q.min() < lo or q.max() > hi):
            raise ValueError(f"layer '{lm.layer.name}': weights must lie in {lo}..{hi}")
        # Row block k's rows, then zero weights; column groups take consecutive filters,
        # so columns need no gather. Unsigned weights come from a 256-entry table over
        # the INT8 byte: q + offset, or with partial weight reuse clip(q + offset + shift).
        shift = self.zero[i]
        top = 2 * cfg.weight_offset - 1
        signed_byte = np.arange(256, dtype=np.int64)
        signed_byte[signed_byte >= 128] -= 256
        lut = np.clip(signed_byte + cfg.weight_offset + shift, 0, top).astype(np.uint8)
        raw = q.view(np.uint8) if q.dtype == np.int8 else \
            (q.astype(np.int64) & 0xFF).astype(np.uint8)
        width = lm.col_groups * ac * wpr
        padded = np.full((lm.row_blocks, R, width), cfg.weight_offset + shift, dtype=np.uint8)
        for k in range(lm.row_blocks):
            r = lm.block_rows(k, cfg)
            padded[k, :len(r), :q.shape[1]] = lut[raw[r.start:r.stop]]
        tiles = padded.reshape(lm.row_blocks, R, lm.col_groups, ac, wpr).transpose(0, 2, 1, 3, 4)
        self._tile_cache = (i, tiles)
        return tiles

    def _write(self, batch: list[int]) -> None:
        """One lockstep group write of the crossbars of the jobs in ``batch``, placed one
        after another from their first job's APU row (deltas from what they hold)."""
        cfg, ac = self.cfg, self.cfg.apu_cols
        R, wpr = cfg.crossbar.rows, cfg.weights_per_row
        base = self.bases[batch[0]]
        first = base * ac
        n_xbars = sum(self._rows(j) for j in batch) * ac
        new = self.held[:, first:first + n_xbars].copy()
        for j in batch:
            i = self.jobs[j][0]
            lm, tiles, at = self.maps[i], self._tiles(i), (self.bases[j] - base) * ac
            for (g, k, _), a in self._layout(j).items():
                n = lm.group_cols[g]
                x0 = at + a * ac
                # Cells whose value cannot matter keep what they hold (no pulses): rows
                # past the kernel where the inputs are zero (unrolled inputs), columns
                # past the last filter (outputs nobody reads). Rows a segment over-reads
                # hold zero weights.
                rows = len(lm.block_rows(k, cfg)) if lm.mode == "im2col" else R
                f = lm.group_filters(g)
                cols = [min(wpr, len(f) - c * wpr) for c in range(n)]
                if rows == R and all(c == wpr for c in cols):
                    new[:, x0: x0 + n] = tiles[k, g, :, :n]
                    continue
                for c, width in enumerate(cols):
                    new[:rows, x0 + c, :width] = tiles[k, g, :rows, c, :width]
        self._group_write(first, new, tuple(dict.fromkeys(self.jobs[j][0] for j in batch)))

    def _group_write(self, first: int, new: np.ndarray, layers: tuple[int, ...]) -> None:
        """One lockstep ``WRITE_START`` turning crossbars ``first..`` into ``new``
        (unsigned weights, rows x crossbars x columns): its row costs, and its deltas in
        main memory (filled in only when materializing)."""
        cfg = self.cfg
        n_xbars = new.shape[1]
        old = self.held[:, first:first + n_xbars]
        self.writes.append(write_rows(old, new, cfg))
        self.write_layers.append(layers)
        if self.materialize:
            words = group_delta_words([unsigned_levels(old[:, x], cfg) for x in range(n_xbars)],
                                      [unsigned_levels(new[:, x], cfg) for x in range(n_xbars)],
                                      cfg)
        else:
            words = cfg.crossbar.rows * n_xbars * cfg.delta_row_words
        d = self._alloc(words)
        self.held[:, first:first + n_xbars] = new
        self._emit(Instruction.make("WRITE_START", xbar=first, dram_addr=d, row=0,
                                    nrows=cfg.crossbar.rows, nxbars=n_xbars))

    def _finish(self, i: int, p0: int, n: int, at: int) -> None:
        """ReLU and REQUANT ``n`` output positions from ``p0`` of layer ``i`` (int32 at
        ``at``) into the next layer's map or to main memory; the last layer's raw int32
        outputs go to main memory."""
        layers, wb = self.net.layers, self.cfg.global_buffer.word_bytes
        layer, words = layers[i], n * self.pos_words[i]
        if i == len(layers) - 1:
            self._dma("STORE", at, self.out_addr + p0 * self.pos_words[i], words)
            return
        nxt = layers[i + 1]
        if self.chained[i]:
            pad = feeds(layer, nxt)
            oy, ox = divmod(p0, layer.ofmap_w)
            if flattens(layer, nxt):
                offset = p0 * layer.filters // wb
            else:
                offset = ((oy + pad) * nxt.ifmap_w + pad + ox) * nxt.channels // wb
        else:
            offset = self._int8_words(i, p0)
        dst = self.in_at[i + 1] + offset if self.into_next[i] else self.row_at[i]
        self._emit(Instruction.make("SFU", func=SfuFunc.REQUANT_RELU, dst=dst, src=at,
                                    count=words, shift=self.shifts[i], window=1))
        if not self.into_next[i]:
            base = self.in_dram[i + 1] if self.chained[i] else self.out_dram[i]
            self._dma("STORE", dst, base + offset, self._int8_words(i, n))

    def _start(self) -> None:
        """Empty program and main memory, erased crossbars, the jobs (parts in order)."""
        cfg = self.cfg
        self.program: list[Instruction] = []
        self.layer_of: list[int] = []
        self.writes: list[WriteRows] = []
        self.write_layers: list[tuple[int, ...]] = []
        self.dram: list[int] = []
        self.dram_words = 0
        self.layer = -1
        self._tile_cache: tuple[int, np.ndarray | None] = (-1, None)
        # What every crossbar holds, row-major: (crossbar row, crossbar, weight column).
        self.held = np.zeros((cfg.crossbar.rows, cfg.n_crossbars, cfg.weights_per_row),
                             dtype=np.uint8)
        self.jobs = [(i, part) for i in range(len(self.net.layers)) for part in self.parts[i]]
        self.reps = [1] * len(self.jobs)

    def _finish_program(self, regions: dict[str, Region] | None = None) -> Schedule:
        """HALT, and the schedule (with its image when main memory was filled in)."""
        self.layer = -1
        self._emit(Instruction.make("HALT"))
        image = None
        if self.materialize:
            image = Image.build(self.cfg, self.program, self.dram, regions)
        reps = [1] * len(self.net.layers)
        for (i, _), r in zip(self.jobs, self.reps, strict=True):
            reps[i] = max(reps[i], r)
        return Schedule(self.net.name, self.name, self.program, self.writes, self.layer_of,
                        tuple(layer.name for layer in self.net.layers), self.write_layers,
                        self.dram_words, image, self.reuse, tuple(reps))

    def _main_memory(self) -> None:
        """Main memory before the program's own regions: the first layer's unrolled
        input, zeros (to clear areas), each layer's input map where it comes from main
        memory, off-chip outputs (``self.in_dram``, ``self.zeros``, ``self.out_dram``)."""
        cfg, layers, L = self.cfg, self.net.layers, len(self.net.layers)
        first = self.maps[0]
        if self.materialize:
            cols = im2col(np.asarray(self.x).reshape(layers[0].ifmap_h, layers[0].ifmap_w,
                                                     layers[0].channels), layers[0])
            unrolled = np.zeros((layers[0].windows, first.row_blocks * cfg.crossbar.rows),
                                dtype=np.int64)
            unrolled[:, :layers[0].kernel_rows] = cols
            x_words: list[int] | int = pack(unrolled, cfg.data.act_bits, cfg.dram_bits)
        else:
            x_words = self._map_words(0)
        self.in_dram: list[int] = [self._alloc(x_words)] + [0] * (L - 1)
        clear = max([self.in_size[i + 1] for i in range(L - 1) if self.into_next[i]]
                    + [self.in_size[i] for i in range(L) if not self.resident[i]] + [0])
        self.zeros = self._alloc(clear)
        for i in range(1, L):
            if not self.into_next[i - 1]:
                self.in_dram[i] = self._alloc(self._map_words(i) + self._slack(i))
        self.out_dram = [self._alloc(self._int8_words(i, layers[i].windows))
                         if i < L - 1 and not self.chained[i] else 0 for i in range(L)]

    def _layer_inputs(self, i: int) -> None:
        """At a layer's start: its input map from main memory (when it is resident and
        the layer before did not write it), its window area's slack cleared (streamed),
        the next layer's map cleared (borders and slack) when this layer writes it."""
        if self.resident[i] and (i == 0 or not self.into_next[i - 1]):
            self._dma("LOAD", self.in_at[i], self.in_dram[i], self.in_size[i] if i
                      else self._map_words(0))
        elif not self.resident[i] and self._slack(i):
            self._dma("LOAD", self.in_at[i], self.zeros, self.in_size[i])
        if self.into_next[i]:
            self._dma("LOAD", self.in_at[i + 1], self.zeros, self.in_size[i + 1])

    def _run_input(self, i: int, p0: int) -> int:
        """Buffer word where the run of layer ``i`` from position ``p0`` reads its input:
        in the resident map, or in the window area after loading the rows it needs."""
        layer, lm = self.net.layers[i], self.maps[i]
        if self._flat(i):
            step = p0 * self._in_stride(i)
        else:
            step = p0 // layer.ofmap_w * layer.stride * lm.group_stride(self.cfg)
        if self.resident[i]:
            return self.in_at[i] + step
        self._dma("LOAD", self.in_at[i], self.in_dram[i] + step, self._rows_words(i))
        return self.in_at[i]

    def _outputs_region(self) -> dict[str, Region]:
        """The last layer's int32 outputs in main memory."""
        cfg, last = self.cfg, self.net.layers[-1]
        words = last.windows * self.pos_words[-1]
        return {"outputs": Region(self.out_addr, words, cfg.data.acc_bits,
                                  words * cfg.gb_bits // cfg.data.acc_bits)}

    def run(self) -> Schedule:
        cfg, net = self.cfg, self.net
        layers = net.layers
        ac, iw, ow = cfg.apu_cols, cfg.input_words, cfg.output_words
        self._start()
        self._main_memory()
        self.out_addr = self._alloc(layers[-1].windows * self.pos_words[-1])

        batches, self.bases, late = self._batches()
        if self.reuse_weights:
            self.reuse = weight_reuse.choose(cfg, self.qs, self._overwrites(batches),
                                             [self._padding(i) for i in range(len(layers))])
            self.zero = list(self.reuse.shifts)
        batch_of = {j: b for b, batch in enumerate(batches) for j in batch}
        for j, (i, part) in enumerate(self.jobs):
            layer = layers[i]
            b = batch_of[j]
            self.layer = i
            if j == batches[b][0]:
                # A batch is written here unless it was issued while the batch before it
                # computed; the next one is issued now if it fits beside this one. Its
                # WRITE_START waits for this batch's write, which this batch's VMMs wait
                # for anyway.
                if b == 0 or late[b]:
                    self._write(batches[b])
                    if not self.overlap:
                        self._emit(Instruction.make("SYNC"))
                if self.overlap and b + 1 < len(batches) and not late[b + 1]:
                    self.layer = self.jobs[batches[b + 1][0]][0]
                    self._write(batches[b + 1])
                    self.layer = i
            if part is self.parts[i][0]:
                if self.gate:
                    self._emit(Instruction.make("BANK_GATE", mask=self.masks[i]))
                self._layer_inputs(i)
            apu = self._layout(j)
            reps = self.reps[j]
            k0 = part.blocks.start
            run = self.runs[i]
            for p0 in range(0, layer.windows, run):
                n = min(run, layer.windows - p0)
                if p0 == 0 or n != run:
                    win = self._window(i, n)
                    self._emit(win)
                seg0 = Window.of(win).segment(k0, iw)   # the part's first row block
                row_in = self._run_input(i, p0)
                multi = len(self.parts[i]) > 1
                at = self.scratch_at[i] + (p0 if multi else 0) * self.pos_words[i]
                for g, ngroups, ncols in self._group_spans(i, part):
                    self._emit(Instruction.make(
                        "VMM", xbar=(self.bases[j] + apu[(g, k0, 0)]) * ac,
                        in_addr=row_in + seg0, out_addr=at + g * ac * ow,
                        accumulate=int(k0 > 0), ncols=ncols, nrows=len(part.blocks),
                        ngroups=ngroups, replicas=reps if n % reps == 0 else 1,
                        zero=self.zero[i]))
                if not multi:
                    self._finish(i, p0, n, at)
            if part is self.parts[i][-1] and len(self.parts[i]) > 1:
                run = self.runs[i]
                for p0 in range(0, layer.windows, run):
                    n = min(run, layer.windows - p0)
                    self._finish(i, p0, n, self.scratch_at[i] + p0 * self.pos_words[i])
        return self._finish_program(self._outputs_region())

    def write_only(self) -> Schedule:
        """The program of :func:`write_bound`."""
        self._start()
        batch: list[int] = []
        self.bases = [0] * len(self.jobs)
        used = 0
        for j in range(len(self.jobs)):
            if batch and used + self._rows(j) > self.cfg.n_apu_rows:
                self._write(batch)
                batch, used = [], 0
            self.bases[j] = used
            batch.append(j)
            used += self._rows(j)
        self._write(batch)
        return self._finish_program()

    def _batches(self) -> tuple[list[list[int]], list[int], list[bool]]:
        """Jobs written together, the first APU row of each job, and whether each batch
        must wait for the batch before it to compute (it needs its APU rows).

        Naive: one job per write, from APU row 0, each waited for. Overlapping (ARAS Fig.
        8, as many weights written as free crossbars allow): the next batch takes the
        larger free stretch of APU rows beside the batch computing now (after it, or
        before it from row 0) and packs consecutive jobs into it, so it is written while
        that batch computes; a job that fits in neither waits and starts a batch from
        row 0. The first batch takes at most half of the rows, to leave room."""
        rows = [self._rows(j) for j in range(len(self.jobs))]
        n = len(self.jobs)
        if not self.overlap:
            return [[j] for j in range(n)], [0] * n, [True] * n
        N = self.cfg.n_apu_rows
        batches: list[list[int]] = []
        bases = [0] * n
        late: list[bool] = []
        start, end = 0, 0                   # APU rows of the batch before
        j = 0
        while j < n:
            if not batches:
                at, room, wait = 0, max(N // 2, rows[0]), False
            elif N - end >= start:
                at, room, wait = end, N - end, False
            else:
                at, room, wait = 0, start, False
            if rows[j] > room:              # fits beside nothing: after that batch computes
                at, room, wait = 0, N, True
            batch, used = [], 0
            while j < n and used + rows[j] <= room:
                batch.append(j)
                used += rows[j]
                j += 1
            while self.replicate:
                # Copies of the slowest layers in the rows left over; while the batch still
                # computes longer than a write takes and the slowest job wants more rows,
                # the batch's last job waits for the next batch (ARAS Algorithm 1: delay
                # the last layer, give its crossbars to the slowest).
                extra = self._replicate(batch, room - used)
                times = [self._compute_estimate(b, self.reps[b]) for b in batch]
                slowest = batch[int(np.argmax(times))]
                if sum(times) <= row_write_floor(self.cfg) or len(batch) == 1 or \
                        batch[-1] == slowest or not self._wants_copies(slowest):
                    used += extra
                    break
                for b in batch:
                    self.reps[b] = 1
                j = batch.pop()
                used -= rows[j]
            for k in batch:
                bases[k] = at
                at += self._rows(k)
            batches.append(batch)
            late.append(wait)
            start, end = at - used, at
        return batches, bases, late

    def _overwrites(self, batches: list[list[int]]) -> dict[tuple[int, int], int]:
        """How many crossbars of each layer ``old`` (-1: erased) the schedule rewrites
        with each layer ``new``, in write order."""
        holder = np.full(self.cfg.n_crossbars, -1)
        ac = self.cfg.apu_cols
        counts: dict[tuple[int, int], int] = {}
        for batch in batches:
            for j in batch:
                i = self.jobs[j][0]
                span = range(self.bases[j] * ac, (self.bases[j] + self._rows(j)) * ac)
                for old in holder[span.start:span.stop].tolist():
                    counts[(old, i)] = counts.get((old, i), 0) + 1
                holder[span.start:span.stop] = i
        return counts

    def _padding(self, i: int) -> int:
        """Zero weights written with layer ``i`` besides its own: the rows a segment
        over-reads (segmented layers), under every filter column."""
        lm, layer = self.maps[i], self.net.layers[i]
        if lm.mode == "im2col":
            return 0
        return (lm.row_blocks * self.cfg.crossbar.rows - layer.kernel_rows) * layer.filters

    def _rows(self, j: int) -> int:
        """APU rows job ``j`` occupies, its weight copies included."""
        part = self.jobs[j][1]
        return len(part.groups) * len(part.blocks) * self.reps[j]

    def _group_spans(self, i: int, part: Part) -> list[tuple[int, int, int]]:
        """The VMMs of a part of layer ``i`` as (first column group, groups, crossbars
        per APU row): its full column groups in parallel on the same inputs (one VMM),
        then a last group of fewer crossbars on its own."""
        lm, ac = self.maps[i], self.cfg.apu_cols
        full = [g for g in part.groups if lm.group_cols[g] == ac]
        return ([(full[0], len(full), ac)] if full else []) + [
            (g, 1, lm.group_cols[g]) for g in part.groups if lm.group_cols[g] != ac]

    def _layout(self, j: int) -> dict[tuple[int, int, int], int]:
        """APU row (from the job's first) of each (column group, row block, copy): as
        ``VMM ngroups/replicas`` reads them, copy-major over the full column groups, then
        the copies of a narrower last group (its own VMM)."""
        i, part = self.jobs[j]
        reps, nb = self.reps[j], len(part.blocks)
        out, at = {}, 0                     # at: the first APU row of each VMM's span
        for first, ngroups, _ in self._group_spans(i, part):
            for r in range(reps):
                for n in range(ngroups):
                    for kk, k in enumerate(part.blocks):
                        out[(first + n, k, r)] = at + (r * ngroups + n) * nb + kk
            at += reps * ngroups * nb
        return out

    def _compute_estimate(self, j: int, reps: int) -> int:
        """VMM cycles of job ``j`` with ``reps`` copies (the planning estimate)."""
        i, part = self.jobs[j]
        # (A narrower last group is costed as a full APU row of crossbars.)
        ac = self.cfg.apu_cols
        per_pass = sum(vmm_pass_cycles(self.cfg, False, ac, len(part.blocks), ngroups, reps)
                       for _, ngroups, _ in self._group_spans(i, part))
        return -(-self.net.layers[i].windows // reps) * per_pass

    def _wants_copies(self, j: int) -> bool:
        """Could job ``j`` take another copy of its weights (rows permitting)?"""
        i = self.jobs[j][0]
        run = self.runs[i]
        return len(self.parts[i]) == 1 and self.net.layers[i].windows > 1 and \
            any(run % r == 0 for r in range(self.reps[j] + 1, run + 1))

    def _replicate(self, batch: list[int], free: int) -> int:
        """Give up to ``free`` APU rows to copies of the batch's slowest jobs; return
        the rows used. A job is copied only if its layer is in one part, its runs of
        windows divide among the copies, and the batch still computes longer than the
        next write's floor (beyond that a copy cannot shorten the schedule)."""
        floor = row_write_floor(self.cfg)
        base_rows = {j: self._rows(j) // self.reps[j] for j in batch}
        open_jobs = {j for j in batch if self._wants_copies(j)}
        used = 0
        while open_jobs:
            times = {j: self._compute_estimate(j, self.reps[j]) for j in batch}
            if sum(times.values()) <= floor:
                break
            j = max(open_jobs, key=lambda b: times[b])
            run = self.runs[self.jobs[j][0]]
            more = [r for r in range(self.reps[j] + 1, run + 1) if run % r == 0]
            extra = base_rows[j] * (more[0] - self.reps[j]) if more else free + 1
            # A copy must save more compute than its crossbars add to the write (their
            # delta fetches), or it only costs pulses and energy.
            fetch = self.cfg.crossbar.rows * burst_cycles(
                self.cfg, extra * self.cfg.apu_cols * self.cfg.delta_row_words)
            if extra > free - used or (
                    times[j] - self._compute_estimate(j, more[0]) <= fetch):
                open_jobs.discard(j)
                continue
            used += extra
            self.reps[j] = more[0]
        return used

    def _window(self, i: int, count: int) -> Instruction:
        """The WINDOW of a run of ``count`` positions of layer ``i``."""
        lm = self.maps[i]
        if lm.mode == "im2col":
            return Instruction.make("WINDOW", count=count, in_stride=self._in_stride(i),
                                    out_stride=self.pos_words[i])
        return Instruction.make(
            "WINDOW", count=count, in_stride=self._in_stride(i),
            out_stride=self.pos_words[i], seg_group=lm.seg_group,
            group_stride=lm.group_stride(self.cfg))


def basisn(cfg: Config, net: Network, fit: BasisFit, x: np.ndarray | None = None,
           shifts: list[int] | None = None, write_basis: bool = True) -> Schedule:
    """BasisN firmware: the basis is written into crossbars once, at the start, and
    never again; per layer, per run of output positions, one VMM per input segment reads
    ``p = x_s^T B`` for every position at once, then per position COMBINE forms ``y_n =
    sum_s sum_j c[s, j, n] p[s, j]`` from the layer's coefficients (INT8 codes, loaded
    once per layer), and REQUANT_RELU feeds the next layer. The chip computes the integer
    network :meth:`~firmware.basisn.BasisFit.chip_weights` defines.

    A segment a kernel row fills only partly (segmented maps) would read the next
    activations of the map in its other rows: it reads through a copy of the basis whose
    rows past the segment are zero, one copy per such length (all written at the start).
    ``fit`` must be fitted on the mapper's row blocks (:func:`basisn_blocks`). Without
    ``write_basis`` the program starts with the basis already in the crossbars (every
    inference after the first: the steady state)."""
    return _BasisPlanner(cfg, net, fit, x, shifts, write_basis).run()


def basisn_blocks(cfg: Config, net: Network) -> list[list[range]]:
    """Each layer's segments as the chip reads them: the mapper's row blocks."""
    return [[lm.block_rows(k, cfg) for k in range(lm.row_blocks)]
            for lm in (map_layer(layer, cfg, im2col=(i == 0))
                       for i, layer in enumerate(net.layers))]


class _BasisPlanner(_Planner):
    """BasisN's firmware (:func:`basisn`); maps, buffers and finishing as the ARAS
    planner's, the compute per layer its own."""

    def __init__(self, cfg: Config, net: Network, fit: BasisFit, x: np.ndarray | None,
                 shifts: list[int] | None, write_basis: bool) -> None:
        self.fit, self.write_basis = fit, write_basis
        if x is not None and not write_basis:
            raise ValueError("an image that computes needs the basis written: the chip's "
                             "crossbars start erased (write_basis=False is for timing the "
                             "steady state)")
        wpr, ac = cfg.weights_per_row, cfg.apu_cols
        if fit.rows != cfg.crossbar.rows:
            raise ValueError(f"the basis has {fit.rows}-row segments; {cfg.source} has "
                             f"{cfg.crossbar.rows}-row crossbars")
        self.basis_xbars = -(-fit.k // wpr)      # crossbars of one copy of the basis
        if self.basis_xbars > ac:
            raise ValueError(f"K = {fit.k} basis vectors need {self.basis_xbars} crossbars; "
                             f"one APU row has {ac} ({ac * wpr} vectors at most)")
        self.kk = self.basis_xbars * wpr          # basis outputs per segment (zero-padded)
        want = basisn_blocks(cfg, net)
        if [[(b.start, b.stop) for b in layer] for layer in want] != \
                [[(b.start, b.stop) for b in (fit.layer_blocks(i) or [])]
                 for i in range(len(net.layers))]:
            raise ValueError("the fit's segments are not the chip's row blocks: fit with "
                             "blocks=scheduler.basisn_blocks(cfg, net)")
        if [tuple(sh) for sh in fit.shapes] != [(la.kernel_rows, la.filters)
                                                 for la in net.layers]:
            raise ValueError(f"the fit's layer shapes {fit.shapes} are not {net.name}'s")
        # (No per-layer weights are written: the coefficient codes stand in for them.)
        super().__init__(cfg, net, list(fit.coef_q), x, shifts, "basisn", Policy())
        # Basis copies: 0 the whole basis; one per length of a partly filled segment.
        R = cfg.crossbar.rows
        lengths = sorted({len(b) for i, lm in enumerate(self.maps) if lm.mode != "im2col"
                          for b in want[i] if len(b) < R})
        self.copy_of_length = {R: 0, **{t: c + 1 for c, t in enumerate(lengths)}}
        if len(self.copy_of_length) > cfg.n_apu_rows:
            raise ValueError(f"{len(self.copy_of_length)} copies of the basis (segment "
                             f"lengths {[R, *lengths]}) need as many APU rows; the chip has "
                             f"{cfg.n_apu_rows}")

    # ---- datapath needs ----------------------------------------------------------------

    def _output_unit(self) -> tuple[int, str]:
        return self.cfg.gb_bits // 8, "COMBINE groups"

    def _layer_parts(self, lm: LayerMap) -> list[Part]:
        return [Part(range(lm.col_groups), range(lm.row_blocks))]   # nothing is written

    def _groups(self, i: int) -> int:
        """COMBINE output groups of layer ``i``."""
        return -(-self.net.layers[i].filters // (self.cfg.gb_bits // 8))

    def _inputs(self, i: int) -> int:
        """COMBINE inputs per position: every segment's basis outputs."""
        return self.maps[i].row_blocks * self.kk

    def _position_words(self, i: int) -> int:
        return 4 * self._groups(i)                # COMBINE writes 4 words per group

    def _p_words(self, i: int) -> int:
        """Words of the basis outputs of one position."""
        return self.maps[i].row_blocks * self.basis_xbars * self.cfg.output_words

    def _coef_words(self, i: int) -> int:
        """Global-buffer words for layer ``i``'s coefficients: all of them, or one chunk
        of output groups when they would take more than a quarter of the buffer (the
        chunks are then loaded in turn for every run)."""
        return self._chunk(i) * self._inputs(i)

    def _chunk(self, i: int) -> int:
        """Output groups whose coefficients are in the buffer at once."""
        budget = self.cfg.gb_words // 4 // self._inputs(i)
        if budget == 0:
            raise ValueError(f"layer '{self.net.layers[i].name}': one output group's "
                             f"{self._inputs(i)} coefficient words exceed a quarter of the "
                             "global buffer")
        return min(self._groups(i), budget)

    def _scratch_words(self, i: int) -> int:
        # Coefficients, then the run's basis outputs, then its results.
        return self._coef_words(i) + self.runs[i] * (self._p_words(i) + self.pos_words[i])

    # ---- program -----------------------------------------------------------------------

    def _coefficients(self, i: int) -> np.ndarray:
        """Layer ``i``'s coefficient codes as COMBINE reads them: (group, input, lane)."""
        G = self.cfg.gb_bits // 8
        c = np.asarray(self.fit.coef_q[i], dtype=np.int64)      # segments x K x filters
        S, K, n = c.shape
        out = np.zeros((self._groups(i) * G, S, self.kk), dtype=np.int64)
        out[:n, :, :K] = c.transpose(2, 0, 1)
        return out.reshape(self._groups(i), G, S * self.kk).transpose(0, 2, 1)

    def _write_basis(self) -> None:
        """Every copy of the basis, one per APU row from row 0, in one group write (or,
        in the steady state, already there)."""
        cfg, R, ac = self.cfg, self.cfg.crossbar.rows, self.cfg.apu_cols
        offset = cfg.weight_offset
        copies = len(self.copy_of_length)
        new = self.held[:, :copies * ac].copy()
        u = np.full((R, self.kk), offset, dtype=np.int64)
        u[:, :self.fit.k] = np.asarray(self.fit.basis_q, dtype=np.int64) + offset
        for length, c in self.copy_of_length.items():
            copy = u.copy()
            copy[length:] = offset                 # zero weights past the segment
            new[:, c * ac: c * ac + self.basis_xbars] = \
                copy.reshape(R, self.basis_xbars, cfg.weights_per_row).astype(np.uint8)
        if not self.write_basis:
            self.held[:, :copies * ac] = new
            return
        self._group_write(0, new, ())
        self._emit(Instruction.make("SYNC"))

    def run(self) -> Schedule:
        cfg, net = self.cfg, self.net
        layers, L = net.layers, len(net.layers)
        R, ac, iw = cfg.crossbar.rows, cfg.apu_cols, cfg.input_words
        self._start()
        self._main_memory()
        coef_dram = []
        for i in range(L):
            words = (pack(self._coefficients(i).ravel(), 8, cfg.dram_bits)
                     if self.materialize else self._groups(i) * self._inputs(i))
            coef_dram.append(self._alloc(words))
        self.out_addr = self._alloc(layers[-1].windows * self.pos_words[-1])

        self._write_basis()
        for i, layer in enumerate(layers):
            lm = self.maps[i]
            self.layer = i
            coef_at = self.scratch_at[i]
            p_at = coef_at + self._coef_words(i)
            y_at = p_at + self.runs[i] * self._p_words(i)
            chunk, groups, m = self._chunk(i), self._groups(i), self._inputs(i)
            if chunk == groups:     # every coefficient fits: loaded once for the layer
                self._dma("LOAD", coef_at, coef_dram[i], self._coef_words(i))
            self._layer_inputs(i)
            blocks = [lm.block_rows(k, cfg) for k in range(lm.row_blocks)]
            run = self.runs[i]
            for p0 in range(0, layer.windows, run):
                n = min(run, layer.windows - p0)
                row_in = self._run_input(i, p0)
                # Where each segment starts (kernel rows one map row apart); the basis
                # outputs land per position, segment after segment.
                segment = Window.of(self._window(i, n))
                self._emit(Instruction.make("WINDOW", count=n, in_stride=self._in_stride(i),
                                            out_stride=self._p_words(i)))
                for k, b in enumerate(blocks):
                    length = len(b) if lm.mode != "im2col" else R
                    copy = self.copy_of_length[length]
                    self._emit(Instruction.make(
                        "VMM", xbar=copy * ac, in_addr=row_in + segment.segment(k, iw),
                        out_addr=p_at + k * self.basis_xbars * cfg.output_words,
                        accumulate=0, ncols=self.basis_xbars, nrows=1))
                for g0 in range(0, groups, chunk):
                    size = min(chunk, groups - g0)
                    if chunk < groups:
                        self._dma("LOAD", coef_at, coef_dram[i] + g0 * m, size * m)
                    for q in range(n):
                        self._emit(Instruction.make(
                            "COMBINE", dst=y_at + q * self.pos_words[i] + 4 * g0,
                            src=p_at + q * self._p_words(i), coef=coef_at, m=m,
                            ngroups=size))
                self._finish(i, p0, n, y_at)
        return self._finish_program(self._outputs_region())


#: The network schedulers by name.
SCHEDULERS = {"naive": naive, "baseline": baseline, "+banks": banks,
              "+replication": replication, "+reuse": reuse}
