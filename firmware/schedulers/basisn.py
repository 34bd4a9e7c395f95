"""BasisN's scheduler: one basis written into crossbars once, every layer's kernels
combined from its outputs by COMBINE (:mod:`firmware.basisn` fits the basis). Composed
from the shared pieces: the buffer layout, feature maps and emission are ARAS's, the
compute per layer its own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.basisn import BasisFit
from firmware.config import Config
from firmware.isa import Instruction, Window
from firmware.mapper import map_layer
from firmware.network import Network
from firmware.packing import pack
from firmware.plan import Schedule
from firmware.schedulers.dataflow import FeatureMaps
from firmware.schedulers.emit import Emitter
from firmware.schedulers.layout import Geometry, two_areas
from firmware.schedulers.tiles import Crossbars


def basisn_blocks(cfg: Config, net: Network) -> list[list[range]]:
    """Each layer's segments as the chip reads them: the mapper's row blocks."""
    return [[lm.block_rows(k, cfg) for k in range(lm.row_blocks)]
            for lm in (map_layer(layer, cfg, im2col=(i == 0))
                       for i, layer in enumerate(net.layers))]


@dataclass(frozen=True)
class BasisSizes:
    """What BasisN's compute of each layer takes: COMBINE output groups, inputs per
    position (every segment's basis outputs), basis-output words per position, and the
    output groups whose coefficients are in the buffer at once (``chunk``)."""

    cfg: Config
    geo: Geometry
    basis_xbars: int    # crossbars of one copy of the basis
    kk: int             # basis outputs per segment (zero-padded)

    def groups(self, i: int) -> int:
        """COMBINE output groups of layer ``i``."""
        return -(-self.geo.net.layers[i].filters // (self.cfg.gb_bits // 8))

    def inputs(self, i: int) -> int:
        """COMBINE inputs per position: every segment's basis outputs."""
        return self.geo.maps[i].row_blocks * self.kk

    def p_words(self, i: int) -> int:
        """Words of the basis outputs of one position."""
        return self.geo.maps[i].row_blocks * self.basis_xbars * self.cfg.output_words

    def chunk(self, i: int) -> int:
        """Output groups whose coefficients are in the buffer at once: all of them, or
        as many as a quarter of the buffer holds (the chunks are then loaded in turn for
        every run)."""
        budget = self.cfg.gb_words // 4 // self.inputs(i)
        if budget == 0:
            raise ValueError(f"layer '{self.geo.net.layers[i].name}': one output group's "
                             f"{self.inputs(i)} coefficient words exceed a quarter of the "
                             "global buffer")
        return min(self.groups(i), budget)

    def coef_words(self, i: int) -> int:
        """Global-buffer words for layer ``i``'s coefficients (one chunk)."""
        return self.chunk(i) * self.inputs(i)

    def scratch_words(self, i: int) -> int:
        """Coefficients, then the run's basis outputs, then its results."""
        return self.coef_words(i) + self.geo.runs[i] * (self.p_words(i) + self.geo.pos_words[i])


def _check_fit(cfg: Config, net: Network, fit: BasisFit) -> int:
    """Refuse a fit the chip cannot run; return the crossbars of one copy of the basis."""
    wpr, ac = cfg.weights_per_row, cfg.apu_cols
    if fit.rows != cfg.crossbar.rows:
        raise ValueError(f"the basis has {fit.rows}-row segments; {cfg.source} has "
                         f"{cfg.crossbar.rows}-row crossbars")
    basis_xbars = -(-fit.k // wpr)
    if basis_xbars > ac:
        raise ValueError(f"K = {fit.k} basis vectors need {basis_xbars} crossbars; "
                         f"one APU row has {ac} ({ac * wpr} vectors at most)")
    want = basisn_blocks(cfg, net)
    if [[(b.start, b.stop) for b in layer] for layer in want] != \
            [[(b.start, b.stop) for b in (fit.layer_blocks(i) or [])]
             for i in range(len(net.layers))]:
        raise ValueError("the fit's segments are not the chip's row blocks: fit with "
                         "blocks=schedulers.basisn_blocks(cfg, net)")
    if [tuple(sh) for sh in fit.shapes] != [(la.kernel_rows, la.filters)
                                             for la in net.layers]:
        raise ValueError(f"the fit's layer shapes {fit.shapes} are not {net.name}'s")
    if len(fit.coef_q) != len(net.layers):
        raise ValueError(f"{net.name}: {len(fit.coef_q)} weight arrays for "
                         f"{len(net.layers)} layers")
    return basis_xbars


def _basis_copies(cfg: Config, net: Network, geo: Geometry) -> dict[int, int]:
    """The copy of the basis each segment length reads: 0 the whole basis, one per
    length of a partly filled segment (its rows past the segment zero)."""
    R = cfg.crossbar.rows
    want = basisn_blocks(cfg, net)
    lengths = sorted({len(b) for i, lm in enumerate(geo.maps) if lm.mode != "im2col"
                      for b in want[i] if len(b) < R})
    copy_of_length = {R: 0, **{t: c + 1 for c, t in enumerate(lengths)}}
    if len(copy_of_length) > cfg.n_apu_rows:
        raise ValueError(f"{len(copy_of_length)} copies of the basis (segment "
                         f"lengths {[R, *lengths]}) need as many APU rows; the chip has "
                         f"{cfg.n_apu_rows}")
    return copy_of_length


def coefficients(sizes: BasisSizes, fit: BasisFit, i: int) -> np.ndarray:
    """Layer ``i``'s coefficient codes as COMBINE reads them: (group, input, lane)."""
    G = sizes.cfg.gb_bits // 8
    c = np.asarray(fit.coef_q[i], dtype=np.int64)      # segments x K x filters
    S, K, n = c.shape
    out = np.zeros((sizes.groups(i) * G, S, sizes.kk), dtype=np.int64)
    out[:n, :, :K] = c.transpose(2, 0, 1)
    return out.reshape(sizes.groups(i), G, S * sizes.kk).transpose(0, 2, 1)


def _basis_contents(cfg: Config, fit: BasisFit, sizes: BasisSizes,
                    copy_of_length: dict[int, int], held: np.ndarray) -> np.ndarray:
    """Every copy of the basis, one per APU row from row 0, as unsigned weights."""
    R, ac, offset = cfg.crossbar.rows, cfg.apu_cols, cfg.weight_offset
    new = held[:, :len(copy_of_length) * ac].copy()
    u = np.full((R, sizes.kk), offset, dtype=np.int64)
    u[:, :fit.k] = np.asarray(fit.basis_q, dtype=np.int64) + offset
    for length, c in copy_of_length.items():
        copy = u.copy()
        copy[length:] = offset                 # zero weights past the segment
        new[:, c * ac: c * ac + sizes.basis_xbars] = \
            copy.reshape(R, sizes.basis_xbars, cfg.weights_per_row).astype(np.uint8)
    return new


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
    if x is not None and not write_basis:
        raise ValueError("an image that computes needs the basis written: the chip's "
                         "crossbars start erased (write_basis=False is for timing the "
                         "steady state)")
    basis_xbars = _check_fit(cfg, net, fit)
    lanes = cfg.gb_bits // 8
    geo = Geometry.of(cfg, net, lanes, "COMBINE groups", x is not None,
                      lambda lm: 4 * -(-lm.layer.filters // lanes))  # 4 words per group
    sizes = BasisSizes(cfg, geo, basis_xbars, basis_xbars * cfg.weights_per_row)
    layout = two_areas(geo, [sizes.scratch_words(i) for i in range(len(net.layers))])
    copy_of_length = _basis_copies(cfg, net, geo)
    shifts = list(shifts) if shifts is not None else [0] * len(net.layers)

    em, xbars = Emitter(cfg, x is not None), Crossbars(cfg)
    fm = FeatureMaps(geo, layout, em, shifts)
    fm.allocate(x)
    coef_dram = [em.alloc(pack(coefficients(sizes, fit, i).ravel(), 8, cfg.dram_bits)
                          if em.materialize else sizes.groups(i) * sizes.inputs(i))
                 for i in range(len(net.layers))]
    fm.allocate_outputs()
    new = _basis_contents(cfg, fit, sizes, copy_of_length, xbars.held)
    if write_basis:
        em.group_write(xbars, 0, new, ())
        em.emit(Instruction.make("SYNC"))
    for i in range(len(net.layers)):
        em.layer = i
        _layer(em, fm, sizes, copy_of_length, coef_dram[i], i)
    return em.finish(net.name, "basisn", tuple(layer.name for layer in net.layers),
                     fm.outputs_region(), replicas=(1,) * len(net.layers))


def _layer(em: Emitter, fm: FeatureMaps, sizes: BasisSizes, copy_of_length: dict[int, int],
           coef_dram: int, i: int) -> None:
    """Layer ``i``: per run of positions, one VMM per segment into the basis outputs,
    then COMBINE per position and chunk of output groups, then the run finished."""
    cfg, geo, layout = sizes.cfg, sizes.geo, fm.layout
    layer, lm = geo.net.layers[i], geo.maps[i]
    R, ac, iw = cfg.crossbar.rows, cfg.apu_cols, cfg.input_words
    coef_at = layout.scratch_at[i]
    p_at = coef_at + sizes.coef_words(i)
    y_at = p_at + geo.runs[i] * sizes.p_words(i)
    chunk, groups, m = sizes.chunk(i), sizes.groups(i), sizes.inputs(i)
    if chunk == groups:     # every coefficient fits: loaded once for the layer
        em.dma("LOAD", coef_at, coef_dram, sizes.coef_words(i))
    fm.layer_inputs(i)
    blocks = [lm.block_rows(k, cfg) for k in range(lm.row_blocks)]
    run = geo.runs[i]
    for p0 in range(0, layer.windows, run):
        n = min(run, layer.windows - p0)
        row_in = fm.run_input(i, p0)
        # Where each segment starts (kernel rows one map row apart); the basis outputs
        # land per position, segment after segment.
        segment = Window.of(geo.window(i, n))
        fm.window(Instruction.make("WINDOW", count=n, in_stride=geo.in_stride(i),
                                   out_stride=sizes.p_words(i)))
        for k, b in enumerate(blocks):
            length = len(b) if lm.mode != "im2col" else R
            copy = copy_of_length[length]
            em.emit(Instruction.make(
                "VMM", xbar=copy * ac, in_addr=row_in + segment.segment(k, iw),
                out_addr=p_at + k * sizes.basis_xbars * cfg.output_words,
                accumulate=0, ncols=sizes.basis_xbars, nrows=1))
        for g0 in range(0, groups, chunk):
            size = min(chunk, groups - g0)
            if chunk < groups:
                em.dma("LOAD", coef_at, coef_dram + g0 * m, size * m)
            for q in range(n):
                em.emit(Instruction.make(
                    "COMBINE", dst=y_at + q * geo.pos_words[i] + 4 * g0,
                    src=p_at + q * sizes.p_words(i), coef=coef_at, m=m, ngroups=size))
        fm.finish(i, p0, n, y_at)
