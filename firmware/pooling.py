"""Pooling of an INT8 HWC map in the global buffer as windowed VEC instructions: the ISA
layer only (addresses and shapes in, instructions out; no placement or scheduling).

A map of ``height x width`` pixels of ``pixel_words`` buffer words each (the channels,
``word_bits / 8`` to a word) lies row after row from its first word. A ``k x k`` pool of
stride ``s`` (no padding) runs in two passes, each a chain of pairwise VECs:

- vertical: output row ``oy`` combines map rows ``s*oy .. s*oy + k - 1``; one windowed
  VEC per row of the kernel after the first, each over every output row at once (the
  WINDOW loop's windows ``s`` map rows apart), into a scratch map ``t`` laid out as the
  map (rows ``s`` rows apart, so ``t`` and the map share the VEC's input stride);
- horizontal: output pixel ``ox`` of a row combines ``t`` pixels ``s*ox .. s*ox + k - 1``;
  one windowed VEC per output row and kernel column after the first (windows ``s``
  pixels apart), the last writing the packed output row.

MAX8 gives max pooling of any ``k``; AVG8 gives the rounded mean of a 2 x 2 window as a
tree (the mean of the two row means). Every read extent must have been written since
reset, gaps between windows included (``UNINITIALIZED``): a pool of ``k > 2`` reads its
scratch back across such gaps, so its scratch words must have been written before (a
LOAD of anything will do).
"""

from __future__ import annotations

from typing import NamedTuple

from firmware.isa import Instruction, VecFunc


class MapShape(NamedTuple):
    """An INT8 HWC map: pixels high and wide, buffer words per pixel."""

    height: int
    width: int
    pixel_words: int

    @property
    def words(self) -> int:
        return self.height * self.width * self.pixel_words


def pooled(shape: MapShape, k: int, stride: int) -> MapShape:
    """The output map of a ``k x k`` pool of ``stride`` without padding."""
    if k < 1 or stride < 1 or k > min(shape.height, shape.width):
        raise ValueError(f"a {k}x{k} pool of stride {stride} does not fit a "
                         f"{shape.height}x{shape.width} map")
    return MapShape((shape.height - k) // stride + 1, (shape.width - k) // stride + 1,
                    shape.pixel_words)


def scratch_words(shape: MapShape, k: int, stride: int) -> int:
    """Buffer words the scratch of :func:`pool` spans (the vertical pass's map, then the
    horizontal pass's partial rows, when it has any)."""
    out = pooled(shape, k, stride)
    return _vertical_words(shape, out, k, stride) + (
        out.height * _partial_row_words(out, stride) if k > 2 else 0)


def _columns(out: MapShape, k: int, stride: int) -> int:
    """Map columns the output reads: ``(OW - 1) * s + k``."""
    return (out.width - 1) * stride + k


def _vertical_words(shape: MapShape, out: MapShape, k: int, stride: int) -> int:
    row = shape.width * shape.pixel_words
    return (out.height - 1) * stride * row + _columns(out, k, stride) * shape.pixel_words


def _partial_row_words(out: MapShape, stride: int) -> int:
    return (out.width - 1) * stride * out.pixel_words + out.pixel_words


def pool(func: VecFunc, src: int, dst: int, scratch: int, shape: MapShape, k: int,
         stride: int) -> list[Instruction]:
    """The WINDOW and VEC instructions of a ``k x k`` pool of ``stride`` of the map at
    ``src`` into the packed map at ``dst`` (:func:`pooled`), with :func:`scratch_words`
    of scratch from ``scratch``; MAX8 for max pooling, AVG8 (``k = 2`` only) for average
    pooling. The window registers are left as the last pass set them."""
    if func not in (VecFunc.MAX8, VecFunc.AVG8) or (func == VecFunc.AVG8 and k != 2):
        raise ValueError(f"pooling takes MAX8 (any k) or AVG8 (k = 2), not {func!r}, k={k}")
    out = pooled(shape, k, stride)
    pw, row = shape.pixel_words, shape.width * shape.pixel_words
    cols = _columns(out, k, stride) * pw      # the words of a row the output reads
    make = Instruction.make

    def vec(d: int, a: int, b: int, count: int) -> Instruction:
        return make("VEC", func=func, dst=d, src_a=a, src_b=b, count=count, windowed=1)

    t = scratch
    if k == 1:   # the pairs are one pixel with itself
        prog = [make("WINDOW", count=out.height, in_stride=stride * row,
                     out_stride=stride * row), vec(t, src, src, cols)]
    else:
        prog = [make("WINDOW", count=out.height, in_stride=stride * row,
                     out_stride=stride * row), vec(t, src, src + row, cols)]
        prog += [vec(t, t, src + dy * row, cols) for dy in range(2, k)]
    # Horizontal: per output row, windows s pixels apart; every step but the last into
    # the row's partial results (laid out as t's, s pixels apart), the last packed.
    partial = scratch + _vertical_words(shape, out, k, stride)
    out_row = out.width * pw
    steps = list(range(1, k)) or [0]
    for last in (False, True):
        mine = steps[-1:] if last else steps[:-1]
        if not mine:
            continue
        prog.append(make("WINDOW", count=out.width, in_stride=stride * pw,
                         out_stride=pw if last else stride * pw))
        for oy in range(out.height):
            t_row = t + oy * stride * row
            u_row = partial + oy * _partial_row_words(out, stride)
            for dx in mine:
                target = dst + oy * out_row if last else u_row
                a = t_row if dx <= 1 else u_row
                prog.append(vec(target, a, t_row + dx * pw, pw))
    return prog
