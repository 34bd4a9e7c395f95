"""The TPU-like baseline: its compute cycles against ScaleSim 3.0's own compute model,
its traffic and energy against the rules its docstring states."""

from __future__ import annotations

import dataclasses
import importlib.metadata
from pathlib import Path

import numpy as np
import pytest

from firmware import config, network
from firmware.network import Layer, Network
from model import scalesim_ref, tpu


def _with_tpu(cfg: config.Config, **fields) -> config.Config:
    return dataclasses.replace(cfg, tpu=dataclasses.replace(cfg.tpu, **fields))


def test_compute_cycles_count_every_fold_by_hand() -> None:
    """A 3 x 5 by 5 x 6 GEMM on a 2 x 4 array: weight-stationary, ceil(5/2) * ceil(6/4)
    = 6 folds, each fills 2 rows, streams 3 windows, drains through 4 columns and the
    skew of 2 rows; output-stationary, ceil(3/2) * 2 = 4 folds of 5 + 2 + 4 - 2."""
    assert tpu.compute_cycles(2, 4, "ws", 3, 5, 6) == 6 * (2 + 3 + (4 - 1) + (2 - 1))
    assert tpu.compute_cycles(2, 4, "os", 3, 5, 6) == 4 * 9
    with pytest.raises(ValueError, match="dataflow 'is'"):
        tpu.compute_cycles(2, 4, "is", 3, 5, 6)


def _chain(cfg: config.Config) -> Network:
    """Three 1x1 layers; the middle one's maps are too large for a 1 KB buffer."""
    return Network("chain", (Layer("a", 4, 4, 1, 1, 8, 16, 1),      # 128 + 256 bytes
                             Layer("b", 16, 16, 1, 1, 16, 8, 1),    # 4096 + 2048
                             Layer("c", 1, 1, 1, 1, 8, 4, 1)), "chain")


def test_traffic_follows_the_stated_rules() -> None:
    """Weights once; a map between two layers that fit the activation buffer stays on
    chip; around a layer that does not fit, its input is read once per column fold and
    its output written; the first input and the last output always cross."""
    cfg = _with_tpu(config.load("tiny"), rows=4, cols=4, dataflow="ws", activation_kb=1,
                    weight_kb=1)
    a, b, c = tpu.simulate(cfg, _chain(cfg)).layers
    assert a.memory_bytes == 8 * 16 + 4 * 4 * 8 + 4 * 4 * 16      # weights, input, output
    assert b.memory_bytes == 16 * 8 + (16 * 16 * 16) * 2 + 16 * 16 * 8   # 2 column folds
    assert c.memory_bytes == 8 * 4 + 8 + 4
    fits = _with_tpu(cfg, activation_kb=8)
    a, b, c = tpu.simulate(fits, _chain(fits)).layers
    assert (a.memory_bytes, b.memory_bytes, c.memory_bytes) == (
        8 * 16 + 4 * 4 * 8, 16 * 8, 8 * 4 + 4)


def test_stalls_and_energy() -> None:
    """A layer takes the longer of its compute and its traffic at the bandwidth; energy
    prices MACs, buffer bytes, main-memory bytes and static power."""
    cfg = _with_tpu(config.load("tiny"), rows=4, cols=4, activation_kb=8, weight_kb=8,
                    bandwidth_gbps=0.5, clock_mhz=1000)
    res = tpu.simulate(cfg, _chain(cfg))
    for layer in res.layers:
        assert layer.cycles == max(layer.compute_cycles, 2 * layer.memory_bytes)
    assert res.layers[0].stall_cycles > 0
    assert res.cycles == sum(layer.cycles for layer in res.layers)
    t = cfg.tpu
    assert res.compute_pj == pytest.approx(t.mac_pj * _chain(cfg).macs)
    assert res.memory_pj == pytest.approx(t.main_memory_byte_pj * res.memory_bytes)
    assert res.static_pj == pytest.approx(t.static_mw * 1e-3 * res.cycles * 1e-9 * 1e12)
    assert res.total_pj == pytest.approx(res.on_chip_pj + res.memory_pj)
    assert res.inferences_per_s == pytest.approx(1e9 / res.cycles)


def test_the_tpu_config_is_checked() -> None:
    with pytest.raises(config.ConfigError,
                       match=r"field 'tpu.dataflow': expected one of ws, os, got 'is'"):
        _with_tpu(config.load("tiny"), dataflow="is").validate()
    with pytest.raises(config.ConfigError, match=r"field 'tpu.rows'"):
        _with_tpu(config.load("tiny"), rows=0).validate()


# ---- against ScaleSim 3.0.0 (the optional `scalesim` extra) ----

def _need_scalesim() -> None:
    """Skip unless ScaleSim 3.0.0 is installed (its package has no __version__)."""
    pytest.importorskip("scalesim")
    found = importlib.metadata.version("scalesim")
    if found != "3.0.0":
        pytest.skip(f"ScaleSim {found} installed; these compare with 3.0.0")


def _random_layers(n: int, seed: int) -> list[Layer]:
    """Seeded random layers whose padded IFMAP fits whole strides: there ScaleSim's
    output size, ``ceil((ifmap - filter) / stride) + 1``, is ours (the floor)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        side, s = int(rng.integers(1, 14)), int(rng.integers(1, 3))
        f = int(rng.integers(1, min(side, 5) + 1))
        w = side + int(rng.integers(0, 3))
        if (side - f) % s or (w - f) % s:
            continue
        out.append(Layer(f"l{len(out)}", side, w, f, f, int(rng.integers(1, 40)),
                         int(rng.integers(1, 40)), s))
    return out


#: Layers of the built-in networks small enough for ScaleSim's operand matrices.
REAL_LAYERS = (("resnet50", ("res5_1_a", "res5_3_b", "res5_3_c", "fc")),
               ("bert_base", ("enc1_q", "enc1_ffn1")))


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", config.TPU_DATAFLOWS)
def test_compute_cycles_equal_scalesims(dataflow: str) -> None:
    """Layer by layer, ScaleSim 3.0.0's compute model: 60 seeded random layers on
    arrays from 1 x 1 to 9 x 7, and layers of ResNet-50 and BERT-Base on the 64 x 64
    array of `aras`."""
    _need_scalesim()
    rng = np.random.default_rng(5)
    for layer in _random_layers(60, seed=3):
        r, c = int(rng.integers(1, 10)), int(rng.integers(1, 8))
        m, k, n = tpu.gemm_shape(layer)
        assert tpu.compute_cycles(r, c, dataflow, m, k, n) == \
            scalesim_ref.compute_cycles(layer, r, c, dataflow), (layer, r, c)
    # The comparison can fail: without the skew of the rows (R - 1 cycles a fold) the
    # cycles are not ScaleSim's.
    layer = _random_layers(1, seed=3)[0]
    m, k, n = tpu.gemm_shape(layer)
    folds = -(-(k if dataflow == "ws" else m) // 4) * -(-n // 4)
    assert tpu.compute_cycles(4, 4, dataflow, m, k, n) - 3 * folds != \
        scalesim_ref.compute_cycles(layer, 4, 4, dataflow)
    for name, names in REAL_LAYERS:
        net = network.load(name)
        for lname in names:
            layer = net.layers[net.index(lname)]
            assert tpu.compute_cycles(64, 64, dataflow, *tpu.gemm_shape(layer)) == \
                scalesim_ref.compute_cycles(layer, 64, 64, dataflow), lname


@pytest.mark.slow
def test_topologies_read_as_scalesim_reads_them(tmp_path: Path) -> None:
    """The same file through ScaleSim's reader and ours: the same layers (names, sizes,
    sparsity), a depthwise layer expanded alike."""
    _need_scalesim()
    from scalesim.topology_utils import topologies

    path = tmp_path / "net.csv"
    path.write_text("Layer, H, W, R, S, C, M, Stride,\n"
                    "c1, 10, 12, 3, 3, 4, 8, 1,\n"
                    "c2, 8, 10, 3, 3, 8, 8, 2, 2:4,\n"
                    "dwDP, 6, 6, 3, 3, 3, 1, 1,\n")
    theirs = topologies()
    theirs.load_arrays(str(path))
    ours = network.read_topology(path).layers
    assert [row[0] for row in theirs.topo_arrays] == [layer.name for layer in ours]
    for row, layer in zip(theirs.topo_arrays, ours, strict=True):
        assert row[1:8] == [layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
                            layer.channels, layer.filters, layer.stride]
        assert tuple(row[9:11]) == layer.sparsity
