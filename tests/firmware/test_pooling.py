"""Pooling as windowed VECs (firmware.pooling) and the directed programs of the INT8
glue (vec8, pool, residual): the golden model's results against numpy written here from
the inputs."""

from __future__ import annotations

import numpy as np
import pytest

from firmware import config
from firmware.image import Image, Region
from firmware.isa import RTL_OPCODES, Fault, Instruction, VecFunc
from firmware.packing import pack, unpack
from firmware.pooling import MapShape, pool, pooled, scratch_words
from firmware.programs import directed
from model import golden


def _ints(cfg: config.Config, dram: list[int], reg: Region) -> np.ndarray:
    """A region's INT8 values in main memory ``dram``."""
    return unpack(dram[reg.addr:reg.addr + reg.count], 8, cfg.dram_bits, reg.elements,
                  signed=True)


def _hwc(cfg: config.Config, shape: MapShape, values: np.ndarray) -> np.ndarray:
    """INT8 values of a packed map as ``height x width x channels``."""
    return np.asarray(values).reshape(shape.height, shape.width,
                                      shape.pixel_words * cfg.gb_bits // 8)


def max_pool(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """``k x k`` max pooling of stride ``s`` of an HWC map, without padding."""
    oh, ow = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
    return np.array([[x[s * i:s * i + k, s * j:s * j + k].max(axis=(0, 1))
                      for j in range(ow)] for i in range(oh)])


def avg_pool_tree(x: np.ndarray, s: int) -> np.ndarray:
    """2 x 2 average pooling of stride ``s`` as the pair tree AVG8 builds: the rounded
    mean ``(p + q + 1) >> 1`` (floor) of the two rows, then of the two columns."""
    oh, ow = (x.shape[0] - 2) // s + 1, (x.shape[1] - 2) // s + 1
    x = x.astype(np.int64)
    i, j = s * np.arange(oh), s * np.arange(ow)
    rows = (x[i] + x[i + 1] + 1) // 2
    return (rows[:, j] + rows[:, j + 1] + 1) // 2


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_the_pool_program_pools_as_numpy_does(name: str) -> None:
    cfg = config.load(name)
    image = directed.pool_program(cfg)
    res = golden.run(image, RTL_OPCODES)
    assert res.fault == Fault.NONE
    x = _hwc(cfg, directed.POOL_SHAPE, _ints(cfg, image.dram, image.regions["map"]))
    assert x.min() == -128 and x.max() == 127
    want = {"max2x2": max_pool(x, 2, 2), "max3x3": max_pool(x, 3, 2),
            "avg2x2": avg_pool_tree(x, 2)}
    assert set(want) == set(directed.POOLS)
    for region, expected in want.items():
        got = _ints(cfg, res.dram, image.regions[region]).reshape(expected.shape)
        assert (got == expected).all(), region


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_the_residual_program_adds_and_saturates(name: str) -> None:
    cfg = config.load(name)
    image = directed.residual_program(cfg)
    res = golden.run(image, RTL_OPCODES)
    assert res.fault == Fault.NONE
    a, b = (_ints(cfg, image.dram, image.regions[k]) for k in ("a", "b"))
    total = np.clip(a + b, -128, 127)
    assert (_ints(cfg, res.dram, image.regions["sum"]) == total).all()
    assert (_ints(cfg, res.dram, image.regions["relu_sum"]) == np.maximum(total, 0)).all()
    assert (a + b > 127).any() and (a + b < -128).any()     # both clip limits are hit


def test_the_vec8_program_covers_every_edge_pair(tiny: config.Config) -> None:
    """Its first four result blocks: each function on every pair of edge values; the
    fifth, the chain: word ``w + 1`` the rounded mean of word ``w`` and ``b[w]``."""
    image = directed.vec8_program(tiny)
    res = golden.run(image, RTL_OPCODES)
    assert res.fault == Fault.NONE
    lanes = tiny.gb_bits // 8
    n = -(-len(directed.INT8_EDGES) ** 2 // lanes)
    words = unpack(res.dram[image.regions["outputs"].addr:][:7 * n], 8, tiny.dram_bits,
                   7 * n * lanes, signed=True).reshape(7, n * lanes)
    chain, bw = words[6].reshape(n, lanes), words[1].reshape(n, lanes)
    c = np.zeros(lanes, dtype=np.int64)
    for w in range(n):
        assert (chain[w] == c).all(), w
        c = (c + bw[w] + 1) // 2
    a, b = words[0], words[1]
    pairs = {(int(x), int(y)) for x, y in zip(a, b, strict=True)}
    assert pairs >= {(x, y) for x in directed.INT8_EDGES for y in directed.INT8_EDGES}
    s = a + b
    assert (words[2] == np.clip(s, -128, 127)).all()
    assert (words[3] == np.clip(s, 0, 127)).all()
    assert (words[4] == np.maximum(a, b)).all()
    assert (words[5] == (s + 1) // 2).all()


def _pool_image(cfg: config.Config, shape: MapShape, func: VecFunc, k: int, s: int,
                seed: int) -> tuple[Image, np.ndarray, int, int]:
    """A map loaded at word 0, ``pool`` into the words after it, its scratch (zeroed
    first) after those, the output stored to main memory: image, map, output address in
    main memory and words."""
    lanes = cfg.gb_bits // 8
    x = np.random.default_rng(seed).integers(-128, 128, shape.words * lanes)
    out = pooled(shape, k, s)
    scratch = scratch_words(shape, k, s)
    dram = pack(x, 8, cfg.dram_bits)
    zeros = len(dram)
    dram += [0] * (scratch + out.words)
    make = Instruction.make
    y, t = shape.words, shape.words + out.words
    prog = [make("LOAD", gb_addr=0, dram_addr=0, count=shape.words),
            make("LOAD", gb_addr=t, dram_addr=zeros, count=scratch),
            *pool(func, 0, y, t, shape, k, s),
            make("STORE", dram_addr=zeros, gb_addr=y, count=out.words), make("HALT")]
    return Image.build(cfg, prog, dram), _hwc(cfg, shape, x), zeros, out.words


@pytest.mark.parametrize(("shape", "k", "s"), [
    (MapShape(4, 4, 1), 2, 2), (MapShape(5, 5, 1), 3, 2), (MapShape(5, 6, 2), 3, 1),
    (MapShape(7, 7, 1), 3, 3), (MapShape(6, 6, 1), 4, 2), (MapShape(3, 4, 3), 1, 1),
    (MapShape(5, 4, 1), 2, 1)])
def test_pool_max_pools_any_kernel_and_stride(small: config.Config, shape: MapShape,
                                              k: int, s: int) -> None:
    image, x, addr, n = _pool_image(small, shape, VecFunc.MAX8, k, s, seed=k * 10 + s)
    res = golden.run(image, RTL_OPCODES)
    assert res.fault == Fault.NONE
    expected = max_pool(x, k, s)
    got = unpack(res.dram[addr:addr + n], 8, small.dram_bits, expected.size, signed=True)
    assert (got.reshape(expected.shape) == expected).all()


@pytest.mark.parametrize(("shape", "s"), [(MapShape(4, 6, 2), 2), (MapShape(5, 5, 1), 1)])
def test_pool_averages_two_by_two_as_a_tree(small: config.Config, shape: MapShape,
                                            s: int) -> None:
    image, x, addr, n = _pool_image(small, shape, VecFunc.AVG8, 2, s, seed=s)
    res = golden.run(image, RTL_OPCODES)
    expected = avg_pool_tree(x, s)
    got = unpack(res.dram[addr:addr + n], 8, small.dram_bits, expected.size, signed=True)
    assert res.fault == Fault.NONE and (got.reshape(expected.shape) == expected).all()


def test_a_three_by_three_pool_reads_its_scratch_back_across_gaps(
        tiny: config.Config) -> None:
    """Without the scratch written first, the 3 x 3 pool's second vertical VEC faults
    UNINITIALIZED (its extent covers the rows between windows); a 2 x 2 pool does not
    read scratch back."""
    for k, fault in ((3, Fault.UNINITIALIZED), (2, Fault.NONE)):
        image, *_ = _pool_image(tiny, MapShape(5, 5, 1), VecFunc.MAX8, k, 2, seed=1)
        unzeroed = Image(tiny, image.imem[:1] + image.imem[2:], image.dram)
        assert golden.run(unzeroed, RTL_OPCODES).fault == fault, k


def test_pool_refuses_what_it_cannot_build() -> None:
    shape = MapShape(4, 4, 1)
    with pytest.raises(ValueError, match="AVG8"):
        pool(VecFunc.AVG8, 0, 16, 32, shape, 3, 1)
    with pytest.raises(ValueError, match="MAX8"):
        pool(VecFunc.ADD8, 0, 16, 32, shape, 2, 2)
    with pytest.raises(ValueError, match="does not fit"):
        pooled(shape, 5, 1)
