"""Buffer layout: the per-layer sizes every network scheduler shares (how a layer reads
its input and how many positions it computes together) and where each layer's buffers
live in the global buffer.

Feature maps live in the global buffer when they fit (``resident``); a map that does
not is kept in main memory and the rows each output row needs are loaded into a window
area (``streamed``). A layer's output goes straight into the next layer's resident map
when the next layer reads it as it is or pooled (:func:`firmware.network.feeds`);
otherwise each finished run of outputs goes through a row buffer to main memory. A
pooled layer's output rows go through a pooling area of their own (:class:`PoolArea`);
maps read later than by the next layer (residual shortcuts, concatenation blocks) are
kept in the buffer while they are live, the largest left in main memory if the rest
would not fit (:class:`KeptMap`).
Two placements: two activation areas used in turn (:func:`two_areas`), or every buffer
in a bank of its own chosen by the bank ILP so that the others can be power-gated
(:func:`in_banks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from firmware import isa
from firmware.config import Config
from firmware.glue import Pool
from firmware.glue import map_layer as map_layer_name
from firmware.isa import Instruction
from firmware.mapper import LayerMap, map_layer
from firmware.network import Layer, Network, NetworkError, feeds
from firmware.schedulers.bank_ilp import select_banks


def chained(prev: Layer, nxt: Layer, pool: Pool | None = None, before: int = 0) -> bool:
    """Does ``prev``'s output map (after ``pool``, after ``before`` concatenated channels)
    feed ``nxt`` directly (zero padding or flattening)?"""
    try:
        feeds(prev, nxt, pool, before)
    except NetworkError:
        return False
    return True


@dataclass(frozen=True)
class PoolArea:
    """The buffer words a pooled layer's output rows go through, in order: a ring of
    ``size`` output rows (``ring_rows``, ``row_words`` each), the row combined down its
    window (``line``: ``pad`` zero positions each side), the partial results of windows
    wider than two (``partial``) and, when the next map is not resident, the pooled
    row on its way to main memory (``out``). ``pos`` is words per position in the ring
    and line, ``channels`` the words of a position's outputs."""

    pool: Pool
    row_words: int
    pos: int
    channels: int
    out_w: int
    out_words: int

    @property
    def ring(self) -> int:
        return self.pool.size * self.row_words

    @property
    def line(self) -> int:
        return self.row_words + 2 * self.pool.pad * self.pos

    @property
    def partial(self) -> int:
        return self.out_w * self.pool.stride * self.pos if self.pool.size > 2 else 0

    @property
    def words(self) -> int:
        return self.ring + self.line + self.partial + self.out_words


def crossbar_position_words(lm: LayerMap, cfg: Config) -> int:
    """int32 output words per position of a layer computed in crossbars: column group g
    at ``g * apu_cols * output_words``."""
    return ((lm.col_groups - 1) * cfg.apu_cols + lm.group_cols[-1]) * cfg.output_words


@dataclass(frozen=True)
class KeptMap:
    """A map read later than by the next layer (:meth:`Network.kept`): ``L:in`` (layer
    ``owner``'s input map, read in place by the layers that name it) or ``L`` (layer
    ``owner``'s INT8 output), ``words`` long, live from ``first`` (the layer that writes
    it) to ``last``."""

    name: str
    owner: int
    is_input: bool
    last: int
    words: int

    @property
    def first(self) -> int:
        return max(0, self.owner - 1) if self.is_input else self.owner


@dataclass(frozen=True)
class Geometry:
    """A network's layers as the chip computes them: their crossbar maps, which layer
    feeds the next directly (``chained``), output words per position, and the output
    positions computed and finished together (``runs``).

    Layers that do not chain (pooling, residual branches, concatenation and attention in
    between, which are not crossbar work) read their input from a main-memory region of
    their own: that glue runs off the chip and only its main-memory traffic is counted."""

    cfg: Config
    net: Network
    maps: list[LayerMap]
    chained: list[bool]
    pos_words: list[int]
    runs: list[int]
    #: Layers reading a concatenation block in place: the block (its first map's name)
    #: and the block's words per position (its final channels).
    blocks: dict[int, tuple[str, int]] = field(default_factory=dict)

    def feeds(self, i: int) -> int:
        """The padding with which layer ``i``'s map (pooled, concatenated) feeds the next."""
        net = self.net
        return feeds(net.layers[i], net.layers[i + 1], net.pool(i),
                     net.out_channels(i) - net.layers[i].filters)

    def in_pos(self, i: int) -> int:
        """Words per position of layer ``i``'s input map (a block's, when it reads one)."""
        if i in self.blocks:
            return self.blocks[i][1]
        return self.net.layers[i].channels // self.cfg.global_buffer.word_bytes

    def strided_out(self, i: int) -> bool:
        """Does layer ``i`` write its outputs into a concatenation block (positions a
        block's width apart, after the channels already there), not pooled: through its
        row buffer and a windowed VEC copy?"""
        return self.chained[i] and i + 1 in self.blocks and self.pool(i) is None

    def pool(self, i: int) -> Pool | None:
        """The pooling after layer ``i`` (it chains through it), if any."""
        return self.net.pool(i)

    @classmethod
    def of(cls, cfg: Config, net: Network, unit: int, what: str, materialize: bool,
           position_words: Callable[[LayerMap], int]) -> Geometry:
        """The geometry of ``net``; chained layers' outputs must come in multiples of
        ``unit`` (one ``what``) and whole buffer words. With ``materialize`` (an image
        that computes), every layer must read the one before it as it is."""
        layers, L = net.layers, len(net.layers)
        wb = cfg.global_buffer.word_bytes
        maps = [map_layer(layer, cfg, im2col=(i == 0)) for i, layer in enumerate(layers)]
        links = [net.chains(i) and chained(layers[i], layers[i + 1], net.pool(i),
                                           net.out_channels(i) - layers[i].filters)
                 for i in range(L - 1)] + [False]
        blocks = _blocks(net, wb)
        for i, layer in enumerate(layers[:-1]):  # outputs feed on: packed, word-aligned
            # (a layer writing into a concatenation block copies just its channels)
            whole = i + 1 in blocks and net.pool(i) is None
            if links[i] and ((layer.filters % unit and not whole) or layer.filters % wb):
                raise ValueError(f"layer '{layer.name}': its {layer.filters} output channels "
                                 f"must fill whole {what} ({unit} outputs) and {wb}-byte "
                                 "words")
            if materialize and not links[i] and net.chains(i):
                feeds(layer, layers[i + 1], net.pool(i),
                      net.out_channels(i) - layer.filters)   # raises, naming the layers
        geo = cls(cfg, net, maps, links, [position_words(lm) for lm in maps], runs=[],
                  blocks=blocks)
        return replace(geo, runs=[geo._run(i) for i in range(L)])   # runs need the rest

    def flat(self, i: int) -> bool:
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
            (self.feeds(i) == 0 and i + 1 not in self.blocks)
        if layer.ofmap_w > 1 or self.pool(i) or not self.flat(i) or not contiguous:
            return layer.ofmap_w
        budget = cfg.gb_words // 8 // self.pos_words[i]
        return max(1, min(layer.windows, budget, (1 << isa.COUNT) - 1))

    def in_stride(self, i: int) -> int:
        """Global-buffer words between consecutive windows of layer ``i``."""
        layer, lm, wb = self.net.layers[i], self.maps[i], self.cfg.global_buffer.word_bytes
        if lm.mode == "im2col":
            return lm.row_blocks * self.cfg.input_words
        if i in self.blocks:
            return layer.stride * self.in_pos(i)
        return layer.stride * layer.channels // wb

    def map_words(self, i: int) -> int:
        """Words of layer ``i``'s whole input map (unrolled for im2col)."""
        layer, lm = self.net.layers[i], self.maps[i]
        if lm.mode == "im2col":
            return layer.windows * lm.row_blocks * self.cfg.input_words
        if i in self.blocks:
            return layer.ifmap_h * layer.ifmap_w * self.in_pos(i)
        return -(-layer.ifmap_bytes // self.cfg.global_buffer.word_bytes)

    def rows_words(self, i: int) -> int:
        """Words of the input one run reads: the run's unrolled windows, its positions
        (flat), or the filter's rows of the map."""
        layer, lm = self.net.layers[i], self.maps[i]
        if self.flat(i):
            return self.runs[i] * self.in_stride(i)
        return layer.filter_h * lm.group_stride(self.cfg)

    def slack(self, i: int) -> int:
        """Words after a map that the last window's segments over-read: a kernel row's
        last row block reads whole input words past the row's own activations."""
        lm, layer = self.maps[i], self.net.layers[i]
        if lm.mode == "im2col":
            return 0
        row_words = self.in_pos(i) if i in self.blocks else \
            -(-layer.filter_w * layer.channels // self.cfg.global_buffer.word_bytes)
        return max(0, lm.seg_group * self.cfg.input_words - row_words)

    def int8_words(self, i: int, n: int) -> int:
        """Words of ``n`` positions of layer ``i``'s INT8 outputs as REQUANT packs them:
        every weight column of its crossbars (the unused columns of a partly used
        crossbar compute with whatever they hold: outputs nobody reads)."""
        return -(-n * self.pos_words[i] // 4)

    def kept(self) -> list[KeptMap]:
        """The maps read later than by the next layer, in the order they are made (a
        concatenation block is one, named by its first map)."""
        net, out = self.net, []
        for name in dict.fromkeys(b for b, _ in self.blocks.values()):
            members = [i for i, (b, _) in self.blocks.items() if b == name]
            out.append(KeptMap(name, min(members), True, max(members),
                               max(self.map_words(i) + self.slack(i) for i in members)))
        for name in sorted(net.kept(), key=lambda m: net.index(map_layer_name(m)[0])):
            if name in {k.name for k in out}:
                continue
            src, is_in = map_layer_name(name)
            owner = net.index(src)
            users = [j for j in range(len(net.layers)) if name in (net.add(j), net.input(j))]
            if not is_in:   # added to another layer's outputs position by position
                self.channel_words(owner)
            # An output read as an input has the readers' over-read after it (cleared).
            words = self.map_words(owner) + self.slack(owner) if is_in else \
                self.int8_words(owner, net.layers[owner].windows) + max(
                    [self.slack(j) for j in users if net.input(j) == name] + [0])
            out.append(KeptMap(name, owner, is_in, max(users), words))
        return sorted(out, key=lambda k: k.owner)

    def reads_kept(self, i: int) -> str | None:
        """The kept input map layer ``i`` reads in place (its own, or the earlier one it
        names), if any."""
        if i in self.blocks:
            return self.blocks[i][0]
        name = self.net.input(i) or f"{self.net.layers[i].name}:in"
        return name if name in self.net.kept() else None

    def channel_words(self, i: int) -> int:
        """Words of one position of layer ``i``'s INT8 outputs, checked to be packed (no
        unused crossbar columns between positions) where a VEC adds them to a map."""
        layer, wb = self.net.layers[i], self.cfg.global_buffer.word_bytes
        if self.pos_words[i] != 4 * (layer.filters // wb) or layer.filters % wb:
            raise ValueError(f"layer '{layer.name}': its {layer.filters} outputs per "
                             f"position take {self.pos_words[i] // 4} INT8 words with "
                             "unused crossbar columns; a map kept for a later layer "
                             "(added or read in place) needs them packed "
                             f"({wb}-byte words, whole crossbars)")
        return layer.filters // wb

    def pool_area(self, i: int, resident_next: bool) -> PoolArea | None:
        """The pooling area of layer ``i`` (None when it is not pooled); its pooled rows
        go to main memory unless ``resident_next``."""
        pool = self.pool(i)
        if pool is None:
            return None
        layer, wb = self.net.layers[i], self.cfg.global_buffer.word_bytes
        out_w = pool.out_size(layer.ofmap_w)
        channels = layer.filters // wb
        return PoolArea(pool, self.int8_words(i, layer.ofmap_w), self.pos_words[i] // 4,
                        channels, out_w, 0 if resident_next else out_w * channels)

    def window(self, i: int, count: int) -> Instruction:
        """The WINDOW of a run of ``count`` positions of layer ``i``."""
        lm = self.maps[i]
        if lm.mode == "im2col":
            return Instruction.make("WINDOW", count=count, in_stride=self.in_stride(i),
                                    out_stride=self.pos_words[i])
        return Instruction.make(
            "WINDOW", count=count, in_stride=self.in_stride(i),
            out_stride=self.pos_words[i], seg_group=lm.seg_group,
            group_stride=lm.group_stride(self.cfg))


@dataclass(frozen=True)
class BufferLayout:
    """Where every layer's buffers live: its input (``in_at``, ``in_size`` words: the
    whole map when ``resident``, else a window area), its int32 scratch (``scratch_at``)
    and its row buffer (``row_at``, ``row_size`` words; 0 when its outputs go straight
    into the next layer's map, ``into_next``). With bank gating, the banks each layer
    powers (``masks``; None: not gated). The glue's buffers: each pooled layer's pooling
    area (``pools``, ``pool_at``); the maps kept for later layers in the buffer
    (``kept``, at ``keep_at``), which layers write their output into one
    (``into_keep``) or read one in place as their input (``in_place``); the kept maps
    left in main memory (``spilled``) and, for a layer adding one, where it loads the
    run's rows (``operand_at``, ``operand_size`` words)."""

    resident: list[bool]
    in_size: list[int]
    scratch_size: list[int]
    into_next: list[bool]
    row_size: list[int]
    in_at: list[int]
    scratch_at: list[int]
    row_at: list[int]
    masks: list[int | None]
    pools: list[PoolArea | None]
    pool_at: list[int]
    keep_at: dict[str, int]
    into_keep: list[bool]
    kept: list[KeptMap]
    in_place: list[str | None]
    spilled: frozenset[str]
    operand_at: list[int]
    operand_size: list[int]

    def buffers(self, i: int) -> list[tuple[str, int, int]]:
        """The buffers layer ``i`` uses at once, as (name, first word, words): its input,
        its scratch, the next layer's map or its row buffer, and its pooling area."""
        out = [("input", self.in_at[i], self.in_size[i]),
               ("scratch", self.scratch_at[i], self.scratch_size[i])]
        if self.into_next[i]:
            out.append(("next input", self.in_at[i + 1], self.in_size[i + 1]))
        if self.row_size[i]:
            out.append(("row buffer", self.row_at[i], self.row_size[i]))
        if self.pools[i] is not None:
            out.append(("pooling area", self.pool_at[i], self.pools[i].words))
        if self.operand_size[i]:
            out.append(("added map's rows", self.operand_at[i], self.operand_size[i]))
        held = {at for _, at, _ in out}
        out += [(f"kept {k.name}", self.keep_at[k.name], k.words) for k in self.kept
                if k.first <= i <= k.last and self.keep_at[k.name] not in held]
        return out


@dataclass(frozen=True)
class _Sizes:
    resident: list[bool]
    in_size: list[int]
    into_next: list[bool]
    row_size: list[int]
    pools: list[PoolArea | None]
    into_keep: list[bool]
    in_place: list[str | None]
    operand_size: list[int]


def _blocks(net: Network, wb: int) -> dict[int, tuple[str, int]]:
    """The concatenation blocks of ``net``: a layer ``j`` with ``concat = 'L:in'`` appends
    its outputs to ``L``'s input and passes the result to ``j + 1``, so ``L`` and ``j + 1``
    read one block map in place, its positions as wide as the last member's input.
    Members must be 1x1 stride-1 layers (their windows a block position apart)."""
    link: dict[int, int] = {}
    for j in range(len(net.layers)):
        if (c := net.concat(j)) is not None:
            src, is_in = map_layer_name(c)
            if not is_in or not net.chains(j):
                raise NetworkError(f"layer '{net.layers[j].name}': concat = '{c}' must name "
                                   "a layer's input map and pass the result to the next "
                                   "layer")
            link[net.index(src)] = j + 1
    out: dict[int, tuple[str, int]] = {}
    heads = set(link) - set(link.values())
    for head in sorted(heads):
        chain = [head]
        while chain[-1] in link:
            chain.append(link[chain[-1]])
        width = net.layers[chain[-1]].channels
        for m in chain:
            layer = net.layers[m]
            if not layer.filter_h == layer.filter_w == layer.stride == 1 or \
                    layer.channels % wb:
                raise NetworkError(f"layer '{layer.name}' reads a concatenation in place: "
                                   f"it must be a 1x1 stride-1 layer of whole {wb}-byte "
                                   "words of channels")
            out[m] = (f"{net.layers[head].name}:in", width // wb)
    return out


def _sizes(geo: Geometry, cap: int, spilled: frozenset[str] = frozenset()) -> _Sizes:
    """Residency (maps of at most ``cap`` words; kept input maps always), input sizes,
    which layers write the next map directly, row-buffer sizes (a pooled layer or one
    whose output is kept needs none; a layer that adds needs one for its outputs before
    the sum), pooling areas, which layers write their output into a kept map, which kept
    map each layer reads in place, and the rows of an added map in main memory
    (``spilled``: kept maps left in main memory) each adding layer loads per run."""
    net, L = geo.net, len(geo.net.layers)
    in_place = [m if (m := geo.reads_kept(i)) is not None and m not in spilled else None
                for i in range(L)]
    full = [geo.map_words(i) + geo.slack(i) for i in range(L)]
    window = [geo.rows_words(i) + geo.slack(i) for i in range(L)]
    rowbuf = [geo.int8_words(i, geo.runs[i]) for i in range(L)]
    resident = [f <= cap or in_place[i] is not None for i, f in enumerate(full)]
    in_size = [f if r else w for f, r, w in zip(full, resident, window, strict=True)]
    for i, (block, _) in geo.blocks.items():   # a block's members share its whole map
        in_size[i] = max(full[j] for j, (b, _) in geo.blocks.items() if b == block)
    # Where a layer's INT8 outputs go: the next layer's map, or a row buffer that is
    # stored to main memory (the last layer stores its int32 scratch directly).
    into_next = [i < L - 1 and geo.chained[i] and resident[i + 1] for i in range(L)]
    into_keep = [net.layers[i].name in net.kept() - spilled for i in range(L)]
    operand_size = [geo.runs[i] * geo.channel_words(i) if net.add(i) in spilled else 0
                    for i in range(L)]
    pools = [geo.pool_area(i, into_next[i]) for i in range(L)]
    row_size = [rowbuf[i] if net.add(i) or geo.strided_out(i) else
                0 if into_next[i] or into_keep[i] or i == L - 1 or pools[i] else rowbuf[i]
                for i in range(L)]
    return _Sizes(resident, in_size, into_next, row_size, pools, into_keep, in_place,
                  operand_size)


def _kept_slots(kept: list[KeptMap]) -> tuple[dict[str, int], int]:
    """Offsets of the kept maps in an area of their own (first fit over their live
    ranges: maps live at once never overlap) and the area's words."""
    placed: list[tuple[KeptMap, int]] = []
    for k in kept:
        taken = sorted((at, at + m.words) for m, at in placed
                       if m.first <= k.last and k.first <= m.last)
        at = 0
        for lo, hi in taken:
            if at + k.words <= lo:
                break
            at = max(at, hi)
        placed.append((k, at))
    return {m.name: at for m, at in placed}, max([at + m.words for m, at in placed] + [0])


def two_areas(geo: Geometry, scratch_of: list[int]) -> BufferLayout:
    """Two activation areas used by alternate layers, then the int32 scratch (``scratch_of``
    words per layer, the largest), then the row buffer, then the pooling area; a map is
    resident when two of it fit beside the scratch, the largest row buffer and the
    largest pooling area. Raises ``ValueError`` when the buffer is too small."""
    cfg, L = geo.cfg, len(geo.net.layers)
    scratch = max(scratch_of)
    most_rows = max(geo.int8_words(i, geo.runs[i]) for i in range(L))
    most_pool = max([p.words for i in range(L) if (p := geo.pool_area(i, False))] + [0])
    spilled: frozenset[str] = frozenset()
    blocks = {b for b, _ in geo.blocks.values()}
    while True:   # leave the largest kept maps in main memory until the rest fit
        kept = [k for k in geo.kept() if k.name not in spilled]
        slots, kept_words = _kept_slots(kept)
        sz = _sizes(geo, (cfg.gb_words - scratch - most_rows - most_pool - kept_words) // 2,
                    spilled)
        area = max([s for i, s in enumerate(sz.in_size) if sz.in_place[i] is None] + [0])
        pool_words = max([p.words for p in sz.pools if p] + [0])
        operands = max(sz.operand_size)
        need = 2 * area + scratch + max(sz.row_size) + pool_words + kept_words + operands
        movable = [k for k in kept if k.name not in blocks]
        if need <= cfg.gb_words or not movable:
            break
        spilled |= {max(movable, key=lambda k: k.words).name}
    if need > cfg.gb_words:
        raise ValueError(f"{geo.net.name}: needs {need} global-buffer words (two "
                         f"activation areas of {area}, {scratch} of int32 outputs, "
                         f"{max(sz.row_size)} of output rows, {pool_words} for pooling "
                         f"and {kept_words} of maps kept for later layers, {operands} of "
                         f"added rows); {cfg.source} has {cfg.gb_words}")
    row_at = 2 * area + scratch
    keep_base = row_at + max(sz.row_size) + pool_words
    keep_at = {name: keep_base + at for name, at in slots.items()}
    in_at = [keep_at[m] if (m := sz.in_place[i]) else (i % 2) * area for i in range(L)]
    return BufferLayout(sz.resident, sz.in_size, list(scratch_of), sz.into_next,
                        sz.row_size, in_at=in_at, scratch_at=[2 * area] * L,
                        row_at=[row_at] * L, masks=[None] * L, pools=sz.pools,
                        pool_at=[row_at + max(sz.row_size)] * L, keep_at=keep_at,
                        into_keep=sz.into_keep, kept=kept, in_place=sz.in_place,
                        spilled=spilled, operand_at=[keep_base + kept_words] * L,
                        operand_size=sz.operand_size)


def in_banks(geo: Geometry, scratch_of: list[int], weights: list[float]) -> BufferLayout:
    """Every buffer (each layer's input, int32 scratch, row buffer and pooling area) at
    the start of a bank chosen by :func:`select_banks`, so that layer ``i`` powers only
    its own buffers' banks (``masks``); phase ``i`` weighs ``weights[i]``. A map is
    resident when it fits the largest bank."""
    cfg, L = geo.cfg, len(geo.net.layers)
    largest = max(hi - lo for lo, hi in cfg.bank_bounds)
    blocks = {b for b, _ in geo.blocks.values()}
    # Kept maps larger than any bank stay in main memory (a block cannot: it is read in
    # place); the rest are buffers of their own.
    spilled = frozenset(k.name for k in geo.kept() if k.words > largest
                        and k.name not in blocks)
    sz = _sizes(geo, largest, spilled)
    kept = [k for k in geo.kept() if k.name not in spilled]
    # A kept input map is its owner's input buffer, read in place by the layers naming
    # it; a kept output map is a buffer of its own. Either is live until its last use.
    pooled = [i for i in range(L) if sz.pools[i]]
    adders = [i for i in range(L) if sz.operand_size[i]]
    outs = [k for k in kept if not k.is_input]
    pool_buf = {i: 3 * L + k for k, i in enumerate(pooled)}
    out_buf = {k.name: 3 * L + len(pooled) + n for n, k in enumerate(outs)}
    opnd_buf = {i: 3 * L + len(pooled) + len(outs) + n for n, i in enumerate(adders)}
    keep_buf = {k.name: (out_buf[k.name] if not k.is_input else k.owner) for k in kept}
    # Each layer's input buffer: its own, or the kept map it reads in place.
    inputs = [i if (m := sz.in_place[i]) is None else keep_buf[m] for i in range(L)]
    sizes = [s if inputs[i] == i else 1 for i, s in enumerate(sz.in_size)] + scratch_of + \
        [max(1, r) for r in sz.row_size] + [sz.pools[i].words for i in pooled] + \
        [k.words for k in outs] + [sz.operand_size[i] for i in adders]
    live = []
    for i in range(L):
        bufs = [inputs[i], L + i] + ([inputs[i + 1]] if sz.into_next[i] else []) + \
            ([2 * L + i] if sz.row_size[i] else []) + \
            ([pool_buf[i]] if i in pool_buf else []) + \
            ([opnd_buf[i]] if i in opnd_buf else []) + \
            [keep_buf[k.name] for k in kept if k.first <= i <= k.last]
        live.append(list(dict.fromkeys(bufs)))
    bank_of = select_banks(cfg, sizes, live, weights)
    starts = [cfg.bank_bounds[k][0] for k in bank_of]
    return BufferLayout(sz.resident, sz.in_size, list(scratch_of), sz.into_next,
                        sz.row_size, in_at=[starts[inputs[i]] for i in range(L)],
                        scratch_at=starts[L:2 * L], row_at=starts[2 * L:3 * L],
                        masks=[sum(1 << bank_of[b] for b in bufs) for bufs in live],
                        pools=sz.pools,
                        pool_at=[starts[pool_buf[i]] if i in pool_buf else 0
                                 for i in range(L)],
                        keep_at={name: starts[b] for name, b in keep_buf.items()},
                        into_keep=sz.into_keep, kept=kept, in_place=sz.in_place,
                        spilled=spilled,
                        operand_at=[starts[opnd_buf[i]] if i in opnd_buf else 0
                                    for i in range(L)],
                        operand_size=sz.operand_size)
