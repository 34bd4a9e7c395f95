"""Feature maps between layers: the main-memory regions they start in, the loads that
bring a layer's input into its buffer, and the REQUANT (unless the VMMs requantized),
pooling (VEC passes over each finished row) and stores that send each run of outputs on
to the next layer (or, for the last layer, its int32 outputs to main memory).
"""

from __future__ import annotations

import numpy as np

from firmware import isa
from firmware.glue import map_layer as map_layer_name
from firmware.image import Region
from firmware.isa import Instruction, SfuFunc, VecFunc
from firmware.network import flattens, im2col, out_map
from firmware.packing import pack
from firmware.schedulers.emit import Emitter
from firmware.schedulers.layout import BufferLayout, Geometry


class FeatureMaps:
    """Moves a network's feature maps for a scheduler (ARAS's or BasisN's): placed by
    ``layout``, emitted into ``em``, REQUANT by ``shifts``."""

    def __init__(self, geo: Geometry, layout: BufferLayout, em: Emitter,
                 shifts: list[int]) -> None:
        self.geo, self.layout, self.em, self.shifts = geo, layout, em, shifts
        self.out_addr = 0
        self.vmm_window: Instruction | None = None

    def window(self, insn: Instruction) -> None:
        """Emit the WINDOW of the next VMMs (re-emitted after a pooling's own)."""
        self.vmm_window = insn
        self.em.emit(insn)

    def allocate(self, x: np.ndarray | None) -> None:
        """Main memory before the program's own regions: the first layer's unrolled
        input ``x``, zeros (to clear areas), each layer's input map where it comes from
        main memory, off-chip outputs (``in_dram``, ``zeros``, ``out_dram``)."""
        geo, lay, em = self.geo, self.layout, self.em
        cfg, layers, L = geo.cfg, geo.net.layers, len(geo.net.layers)
        first = geo.maps[0]
        if em.materialize:
            cols = im2col(np.asarray(x).reshape(layers[0].ifmap_h, layers[0].ifmap_w,
                                                layers[0].channels), layers[0])
            unrolled = np.zeros((layers[0].windows, first.row_blocks * cfg.crossbar.rows),
                                dtype=np.int64)
            unrolled[:, :layers[0].kernel_rows] = cols
            x_words: list[int] | int = pack(unrolled, cfg.data.act_bits, cfg.dram_bits)
        else:
            x_words = geo.map_words(0)
        self.in_dram: list[int] = [em.alloc(x_words)] + [0] * (L - 1)
        clear = max([lay.in_size[i + 1] for i in range(L - 1) if lay.into_next[i]]
                    + [lay.in_size[i] for i in range(L) if not lay.resident[i]]
                    + [p.line + p.partial for p in lay.pools if p]
                    + [k.words for k in lay.kept if not k.is_input] + [0])
        self.zeros = em.alloc(clear)
        net = geo.net
        for i in range(1, L):
            if not lay.into_next[i - 1] and not self._reads_earlier(i) and \
                    net.input(i) not in lay.spilled:
                self.in_dram[i] = em.alloc(geo.map_words(i) + geo.slack(i))
        self.out_dram = [em.alloc(geo.int8_words(i, layers[i].windows))
                         if i < L - 1 and not geo.chained[i] and not lay.into_keep[i] else 0
                         for i in range(L)]
        # Kept maps left in main memory: an output where its layer stores it; an input
        # where it was loaded from, or stored there too by the layer that writes it.
        self.kept_dram: dict[str, int] = {}
        self.store_into: dict[int, int] = {}
        for name in sorted(lay.spilled):
            src, is_in = map_layer_name(name)
            owner = net.index(src)
            if not is_in:
                self.kept_dram[name] = self.out_dram[owner]
            elif owner == 0 or not lay.into_next[owner - 1]:
                self.kept_dram[name] = self.in_dram[owner]
            else:
                self.kept_dram[name] = em.alloc(geo.map_words(owner) + geo.slack(owner))
                self.store_into[owner - 1] = self.kept_dram[name]
        for i in range(1, L):
            if net.input(i) in lay.spilled:
                self.in_dram[i] = self.kept_dram[net.input(i)]

    def _adds_to_block(self, i: int) -> bool:
        """Does layer ``i`` write into a concatenation block after its first layer (the
        block holds earlier channels: it is cleared only before its first writer)?"""
        blocks = self.geo.blocks
        return i + 1 in blocks and min(m for m, (b, _) in blocks.items()
                                       if b == blocks[i + 1][0]) != i + 1

    def _reads_earlier(self, i: int) -> bool:
        """Does layer ``i`` read an earlier layer's kept input map in place?"""
        m = self.layout.in_place[i]
        return m is not None and m != f"{self.geo.net.layers[i].name}:in"

    def allocate_outputs(self) -> None:
        """Main memory for the last layer's int32 outputs (``out_addr``)."""
        self.out_addr = self.em.alloc(self.geo.net.layers[-1].windows * self.geo.pos_words[-1])

    def outputs_region(self) -> dict[str, Region]:
        """The last layer's int32 outputs in main memory."""
        cfg, last = self.geo.cfg, self.geo.net.layers[-1]
        words = last.windows * self.geo.pos_words[-1]
        return {"outputs": Region(self.out_addr, words, cfg.data.acc_bits,
                                  words * cfg.gb_bits // cfg.data.acc_bits)}

    def layer_inputs(self, i: int) -> None:
        """At a layer's start: its input map from main memory (when it is resident and
        the layer before did not write it), its window area's slack cleared (streamed),
        the next layer's map cleared (borders and slack) when this layer writes it."""
        geo, lay, em = self.geo, self.layout, self.em
        if lay.resident[i] and (i == 0 or not lay.into_next[i - 1]) and \
                not self._reads_earlier(i):
            em.dma("LOAD", lay.in_at[i], self.in_dram[i], lay.in_size[i] if i
                   else geo.map_words(0))
        elif not lay.resident[i] and geo.slack(i):
            em.dma("LOAD", lay.in_at[i], self.zeros, lay.in_size[i])
        if lay.into_next[i] and not self._adds_to_block(i):
            em.dma("LOAD", lay.in_at[i + 1], self.zeros, lay.in_size[i + 1])
        if lay.into_keep[i]:   # a kept output's tail that its readers over-read
            name = geo.net.layers[i].name
            tail = next(k.words for k in lay.kept if k.name == name) - \
                geo.int8_words(i, geo.net.layers[i].windows)
            if tail:
                em.dma("LOAD", lay.keep_at[name] + geo.int8_words(
                    i, geo.net.layers[i].windows), self.zeros, tail)
        if lay.pools[i] is not None:   # the line's zero borders, the partial results' gaps
            p = lay.pools[i]
            em.dma("LOAD", lay.pool_at[i] + p.ring, self.zeros, p.line + p.partial)

    def run_input(self, i: int, p0: int) -> int:
        """Buffer word where the run of layer ``i`` from position ``p0`` reads its input:
        in the resident map, or in the window area after loading the rows it needs."""
        geo, lay = self.geo, self.layout
        layer, lm = geo.net.layers[i], geo.maps[i]
        if geo.flat(i):
            step = p0 * geo.in_stride(i)
        else:
            step = p0 // layer.ofmap_w * layer.stride * lm.group_stride(geo.cfg)
        if lay.resident[i]:
            return lay.in_at[i] + step
        self.em.dma("LOAD", lay.in_at[i], self.in_dram[i] + step, geo.rows_words(i))
        return lay.in_at[i]

    def out_at(self, i: int, p0: int) -> tuple[int, int]:
        """Where the INT8 outputs of layer ``i`` (not the last) from position ``p0`` go:
        the buffer word (in the next layer's map, or the row buffer) and its offset in
        the destination map."""
        geo, lay = self.geo, self.layout
        pool = lay.pools[i]
        if pool is not None:   # into the ring of output rows
            row = p0 // geo.net.layers[i].ofmap_w
            return lay.pool_at[i] + row % pool.pool.size * pool.row_words, 0
        if lay.into_keep[i]:   # into the kept map, read by a later layer
            return lay.keep_at[geo.net.layers[i].name] + geo.int8_words(i, p0), 0
        if geo.net.add(i) or geo.strided_out(i):   # the row buffer, then the sum or copy
            return lay.row_at[i], self._map_offset(i, p0) if geo.chained[i] else \
                geo.int8_words(i, p0)
        offset = self._map_offset(i, p0) if geo.chained[i] else geo.int8_words(i, p0)
        return (lay.in_at[i + 1] + offset if lay.into_next[i] else lay.row_at[i]), offset

    def _map_offset(self, i: int, p: int) -> int:
        """Word of position ``p`` of the map layer ``i`` passes on (after its pooling) in
        the next layer's input map (zero-padded, or flattened)."""
        geo, wb = self.geo, self.geo.cfg.global_buffer.word_bytes
        layer, nxt, pool = geo.net.layers[i], geo.net.layers[i + 1], geo.pool(i)
        before = (geo.net.out_channels(i) - layer.filters) // wb   # concatenated first
        if flattens(layer, nxt, pool) and not before:
            return p * layer.filters // wb
        pad = geo.feeds(i)
        oy, ox = divmod(p, out_map(layer, pool)[1])
        return ((oy + pad) * nxt.ifmap_w + pad + ox) * geo.in_pos(i + 1) + before

    def finish(self, i: int, p0: int, n: int, at: int | None) -> None:
        """ReLU and REQUANT ``n`` output positions from ``p0`` of layer ``i`` (int32 at
        ``at``; ``None``: its VMMs requantized them into :meth:`out_at` themselves), then
        its glue (the sum with a kept map, the copy into a concatenation block, the
        pooling of each finished row) into the next layer's map, a kept map or main
        memory; the last layer's raw int32 outputs go to main memory."""
        geo, lay, em = self.geo, self.layout, self.em
        layers = geo.net.layers
        words = n * geo.pos_words[i]
        if i == len(layers) - 1:
            em.dma("STORE", at, self.out_addr + p0 * geo.pos_words[i], words)
            return
        dst, offset = self.out_at(i, p0)
        if at is not None:
            func = SfuFunc.REQUANT_RELU if geo.net.relu(i) else SfuFunc.REQUANT
            em.emit(Instruction.make("SFU", func=func, dst=dst, src=at,
                                     count=words, shift=self.shifts[i], window=1))
        if lay.into_keep[i]:
            return
        if (add := geo.net.add(i)) is not None:   # plus the kept map, then ReLU
            c = geo.channel_words(i)
            # into the next map, unless a copy into a block follows (the sum stays put)
            into = lay.in_at[i + 1] + offset if lay.into_next[i] and \
                not geo.strided_out(i) else dst
            if add in lay.spilled:   # the run's positions of the map, from main memory
                other = lay.operand_at[i]
                em.dma("LOAD", other, self.kept_dram[add] + p0 * c, n * c)
            else:
                other = self._kept_at(add, p0, c)
            self._vec(VecFunc.ADD8_RELU, into, dst, other, n * c)
        if geo.strided_out(i):   # a copy (the max of each word with itself) into the block
            wb = geo.cfg.global_buffer.word_bytes
            em.emit(Instruction.make("WINDOW", count=n, in_stride=geo.pos_words[i] // 4,
                                     out_stride=geo.in_pos(i + 1)))
            self._vec(VecFunc.MAX8, lay.in_at[i + 1] + offset, dst, dst,
                      layers[i].filters // wb, windowed=True)
            if self.vmm_window is not None:
                em.emit(self.vmm_window)
            return
        if lay.pools[i] is not None:
            row, layer = p0 // layers[i].ofmap_w, layers[i]
            pool = lay.pools[i].pool
            for y in range(pool.out_size(layer.ofmap_h)):
                if pool.taps(y, layer.ofmap_h)[-1] == row:
                    self._pool_row(i, y)
            return
        if not lay.into_next[i]:
            base = self.in_dram[i + 1] if geo.chained[i] else self.out_dram[i]
            em.dma("STORE", dst, base + offset, geo.int8_words(i, n))
        elif i in self.store_into:   # the next map is also kept in main memory
            em.dma("STORE", lay.in_at[i + 1] + offset, self.store_into[i] + offset,
                   n * geo.in_pos(i + 1))

    def _vec(self, func: VecFunc, dst: int, a: int, b: int, count: int,
             windowed: bool = False) -> None:
        """One VEC, cut into runs the count field can express (unwindowed only)."""
        most = (1 << isa.COUNT) - 1
        if windowed:
            self.em.emit(Instruction.make("VEC", func=func, dst=dst, src_a=a, src_b=b,
                                          count=count, windowed=1))
            return
        for k in range(0, count, most):
            self.em.emit(Instruction.make("VEC", func=func, dst=dst + k, src_a=a + k,
                                          src_b=b + k, count=min(most, count - k)))

    def _pool_row(self, i: int, y: int) -> None:
        """Output row ``y`` of layer ``i``'s pooling, from the rows in its ring: down the
        window into the line (one pair at a time, in row order), then along it: window
        ``x``'s taps are positions ``x * stride - pad + d`` of the line (its borders are
        zero), combined pair by pair through the partial results into the next layer's
        map, or into the out row that is stored to main memory."""
        geo, lay, em = self.geo, self.layout, self.em
        area, at = lay.pools[i], lay.pool_at[i]
        pool, layer = area.pool, geo.net.layers[i]
        func = VecFunc.MAX8 if pool.kind == "max" else VecFunc.AVG8
        line = at + area.ring
        data = line + pool.pad * area.pos
        partial = line + area.line
        out = partial + area.partial

        def slot(r: int) -> int:
            return at + r % pool.size * area.row_words

        rows = pool.taps(y, layer.ofmap_h)
        self._vec(func, data, slot(rows[0]), slot(rows[min(1, len(rows) - 1)]),
                  area.row_words)
        for r in rows[2:]:
            self._vec(func, data, data, slot(r), area.row_words)
        step = pool.stride * area.pos
        dest = geo.in_pos(i + 1) if lay.into_next[i] and i + 1 in geo.blocks else \
            area.channels
        offset = self._map_offset(i, y * area.out_w)
        final = lay.in_at[i + 1] + offset if lay.into_next[i] else out
        taps = [line + d * area.pos for d in range(pool.size)]
        acc = taps[0]
        for d in range(1, max(2, pool.size)):
            last = d >= pool.size - 1
            em.emit(Instruction.make("WINDOW", count=area.out_w, in_stride=step,
                                     out_stride=dest if last else step))
            self._vec(func, final if last else partial, acc, taps[min(d, pool.size - 1)],
                      area.channels, windowed=True)
            acc = partial
        if not lay.into_next[i]:
            em.dma("STORE", out, self.in_dram[i + 1] + offset, area.out_w * area.channels)
        elif i in self.store_into:   # the next map is also kept in main memory
            em.dma("STORE", final, self.store_into[i] + offset, area.out_w * area.channels)
        if self.vmm_window is not None:
            em.emit(self.vmm_window)

    def _kept_at(self, name: str, p: int, c: int) -> int:
        """Buffer word of position ``p`` of the kept map ``name`` (``c`` words a
        position: a 1x1 layer's unpadded input, or a packed INT8 output)."""
        return self.layout.keep_at[name] + p * c
