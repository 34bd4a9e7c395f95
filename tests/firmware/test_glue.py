"""The glue between layers: pooling as the chip computes it, and the sidecar files that
name it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware import glue, network
from firmware.glue import Glue, GlueError, Pool, pool_map, read_glue, render_glue


def _max_pool_reference(x: np.ndarray, size: int, stride: int, pad: int) -> np.ndarray:
    """Max pooling by its definition: -inf padding, the max of each window."""
    h, w, c = x.shape
    padded = np.full((h + 2 * pad, w + 2 * pad, c), np.iinfo(np.int64).min)
    padded[pad:pad + h, pad:pad + w] = x
    oh, ow = (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1
    return np.array([[padded[y * stride:y * stride + size, x_ * stride:x_ * stride + size]
                      .max(axis=(0, 1)) for x_ in range(ow)] for y in range(oh)])


@pytest.mark.parametrize(("size", "stride", "pad"), [(2, 2, 0), (3, 2, 1), (3, 1, 1),
                                                     (3, 3, 0), (1, 1, 0)])
def test_max_pool_is_the_max_of_each_window(size: int, stride: int, pad: int) -> None:
    x = np.random.default_rng(size * 10 + pad).integers(0, 128, (7, 9, 4))
    assert pool_map(x, Pool("max", size, stride, pad)).tolist() == \
        _max_pool_reference(x, size, stride, pad).tolist()


def test_avg_pool_is_a_tree_of_rounded_pair_means() -> None:
    # Down the window, then along it, each step (a + b + 1) >> 1, worked by hand:
    # columns (1, 4) -> 3 and (2, 7) -> 5, then (3, 5) -> 4 (the exact mean is 3.5);
    # (-3, -4) -> -3 and (-6, -1) -> -3, then -3: rounding is half up, also below zero.
    x = np.array([[[1, -3], [2, -6]], [[4, -4], [7, -1]]])
    assert pool_map(x, Pool("avg", 2, 2)).tolist() == [[[4, -3]]]
    y = np.random.default_rng(1).integers(-128, 128, (6, 6, 3))
    exact = y.reshape(3, 2, 3, 2, 3).mean(axis=(1, 3))
    assert np.abs(pool_map(y, Pool("avg", 2, 2)) - exact).max() <= 1


@pytest.mark.parametrize(("text", "match"), [
    ('[nope]\npool = { kind = "max", size = 2, stride = 2 }', r"\[nope\]: no layer"),
    ('[fc]\npool = { kind = "max", size = 2, stride = 2 }', r"\[fc\]: the last layer"),
    ('[c1]\npool = { kind = "min", size = 2, stride = 2 }', r"\[c1\]: pool kind 'min'"),
    ('[c1]\npool = { kind = "avg", size = 3, stride = 2 }', r"\[c1\]: average pooling"),
    ('[c1]\npool = { kind = "max", size = 2 }', r"\[c1\]: pool keys \['kind', 'size'\]"),
    ('[c1]\npool = { kind = "max", size = 2, stride = 2, pads = 1 }', r"\[c1\]: pool keys"),
    ('[c1]\npool = { kind = "max", size = 0, stride = 2 }', r"\[c1\]: pool size is 0"),
    ('[c1]\npool = { kind = "max", size = 2, stride = 2, pad = 2 }', r"pad 2 must be below"),
    ('[c1]\nrelu = true', r"\[c1\]: keys \['relu'\]; expected some of"),
    ('[c2]\nadd = "c1"\npool = { kind = "max", size = 2, stride = 2 }',
     r"pools, adds or concatenates"),
    ('[c2]\nadd = "fc"', r"\[c2\]: add = 'fc' is not computed before this layer"),
    ('[c2]\ninput = "c2:in"', r"input = 'c2:in' is not computed before"),
    ('[c2]\nadd = "c2:in"\ninput = "c1:in"', None),
    ('[c2]\nadd = "c9"', r"add = 'c9' names no map"),
    ('[c2]\nadd = "c1:out"', r"add = 'c1:out' names no map"),
    ('[c2]\nadd = 3', r"add is 3; expected a map name"),
    ('[c2]\nconcat = "c1:in"\nadd = "c1"', r"pools, adds or concatenates"),
    ('[c2]\nconcat = "fc:in"', r"concat = 'fc:in' is not computed before"),
    ('[c2]\nconcat = "c2:in"', None),
    ('[c2]\noffchip = "attention"\ninput = "c1:in"', r"offchip is 'attention'; expected"),
    ('[c2]\noffchip = ""', r"offchip is ''; expected"),
    ('[c2]\noffchip = "attention"', None),
    ('[c1\npool = 1', r"cannot read the glue file"),
])
def test_a_bad_glue_file_is_refused_naming_file_and_table(tmp_path: Path, text: str,
                                                         match: str | None) -> None:
    path = tmp_path / "n.glue.toml"
    path.write_text(text)
    if match is None:   # the control: a legal file of the same shape reads
        assert read_glue(path, ["c1", "c2", "fc"])
        return
    with pytest.raises(GlueError, match=match) as e:
        read_glue(path, ["c1", "c2", "fc"])
    assert str(path) in str(e.value)


def test_render_reads_back(tmp_path: Path) -> None:
    pools = {"a": Glue(pool=Pool("max", 3, 2, 1)), "b": Glue(pool=Pool("avg", 2, 2)),
             "c": Glue(input="a:in", add="b")}
    path = tmp_path / "n.glue.toml"
    path.write_text(render_glue(pools, "test"))
    assert read_glue(path, ["a", "b", "c", "d"]) == pools


def test_a_topology_reads_its_sidecar_and_checks_the_pooled_map(tmp_path: Path) -> None:
    csv = tmp_path / "n.csv"
    csv.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                   "Channels, Num Filter, Strides,\nc1, 10, 10, 3, 3, 1, 16, 1,\n"
                   "c2, 6, 6, 3, 3, 16, 8, 1,\n")
    assert network.read_topology(csv).glue == ()
    glue.glue_path(csv).write_text('[c1]\npool = { kind = "max", size = 2, stride = 2 }\n')
    assert network.read_topology(csv).glue == (Glue(pool=Pool("max", 2, 2)), None)
    # 8x8 pooled 3x3 stride 2 is 3x3, which padded by 1 is not c2's 6x6 input.
    glue.glue_path(csv).write_text('[c1]\npool = { kind = "max", size = 3, stride = 2 }\n')
    with pytest.raises(network.NetworkError, match=r"n.glue.toml: \[c1\]: layer 'c1' makes "
                       r"a 3x3x16 map after its pooling that does not feed layer 'c2'"):
        network.read_topology(csv)


def test_the_builtin_glue_chains_their_layers() -> None:
    """Every built-in pool and concatenation makes the map its next layer reads, every
    add has the shape of its layer's outputs (checked when read); one of each per
    pooling, bottleneck block and dense layer (the last dense layer's concatenation
    feeds the classifier off the chip)."""
    nets = {name: network.builtin(name) for name in ("vgg16", "resnet50", "densenet161")}
    pooled = {name: sum(net.pool(i) is not None for i in range(len(net.layers)))
              for name, net in nets.items()}
    assert pooled == {"vgg16": 5, "resnet50": 1, "densenet161": 4}
    concats = sum(nets["densenet161"].concat(i) is not None
                  for i in range(len(nets["densenet161"].layers)))
    adds = sum(nets["resnet50"].add(i) is not None for i in range(len(nets["resnet50"].layers)))
    assert (concats, adds) == (6 + 12 + 36 + 23, 3 + 4 + 6 + 3)


GRAPH = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
         "Num Filter, Strides,\nc0, 10, 10, 3, 3, 1, 16, 1,\nq, 8, 8, 1, 1, 16, 16, 1,\n"
         "k, 8, 8, 1, 1, 16, 16, 1,\nv, 8, 8, 1, 1, 16, 16, 1,\nd, 10, 10, 3, 3, 16, 16, 1,\n"
         "e, 8, 8, 1, 1, 32, 16, 1,\nf, 8, 8, 1, 1, 32, 16, 1,\nfc, 1, 1, 1, 1, 1024, 4, 1,\n")


@pytest.mark.parametrize(("glue_text", "match"), [
    ('[k]\ninput = "q:in"\n[v]\ninput = "k:in"', r"\[v\]: input = 'k:in' is the map 'q:in'"),
    ('[v]\ninput = "c0"', r"\[v\]: input = 'c0': that layer's output is .* read by the next "
                          r"layer; .* 'q:in'"),
    ('[d]\nconcat = "v:in"\n[f]\ninput = "e:in"', r"\[f\]: input = 'e:in' is a concatenation"),
    ('[c0]\npool = { kind = "max", size = 2, stride = 2 }\n[q]\noffchip = "x"',
     r"\[c0\]: its pooled or concatenated map must feed the next layer"),
    ('[d]\nconcat = "v"', r"\[d\]: concat = 'v' names a layer's output"),
    ('[e]\nconcat = "d:in"', r"\[e\]: concat = 'd:in' is a 10x10 map"),
    ('[d]\nconcat = "v:in"\n[f]\noffchip = "the rest"', None),
])
def test_glue_a_schedule_could_not_honour_is_refused_when_read(
        tmp_path: Path, glue_text: str, match: str | None) -> None:
    """Glue naming a map two ways, a layer's output the next layer also reads, a pooled or
    concatenated map nobody reads next, or a concatenation where a plain map is needed
    is refused with the file and table (the last case, legal, is the control)."""
    csv = tmp_path / "g.csv"
    csv.write_text(GRAPH)
    glue.glue_path(csv).write_text(glue_text + "\n")
    if match is None:
        assert network.read_topology(csv).concat(4) == "v:in"
        return
    with pytest.raises(network.NetworkError, match=match) as e:
        network.read_topology(csv)
    assert "g.glue.toml" in str(e.value)
