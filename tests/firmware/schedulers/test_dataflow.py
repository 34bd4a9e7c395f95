"""Feature maps between layers: every transfer stays inside main memory and the global
buffer, a streamed layer loads the rows each run reads, and each run of outputs goes
into the next layer's map, through a row buffer to main memory, or (the last layer) as
int32 to the outputs region."""

from __future__ import annotations

import nets
import numpy as np
import pytest
from nets import (
    CNN,
    DENSE,
    PADDED,
    POOLED,
    POOLED_STREAMED,
    RESIDUAL,
    RESIDUAL_SPILLED,
    STREAMED,
    TINY,
    case,
    outputs,
)

from firmware import config, network
from firmware.glue import Glue
from firmware.isa import RTL_OPCODES, Fault, Instruction, Opcode, VecFunc
from firmware.network import Layer, Network, feeds
from firmware.schedulers import SCHEDULERS
from firmware.schedulers.aras import Workload
from firmware.schedulers.dataflow import FeatureMaps
from firmware.schedulers.emit import Emitter
from firmware.schedulers.layout import in_banks, two_areas
from model import golden


def _outside(program: list[Instruction], dram_words: int, gb_words: int) -> list[str]:
    """LOADs and STOREs that reach past either memory."""
    return [f"{k}: {insn.opcode.name} gb {insn.gb_addr}+{insn.count} dram {insn.dram_addr}"
            for k, insn in enumerate(program) if insn.opcode in (Opcode.LOAD, Opcode.STORE)
            and (insn.dram_addr + insn.count > dram_words or
                 insn.gb_addr + insn.count > gb_words)]


def test_the_bounds_check_finds_a_transfer_past_main_memory() -> None:
    load = Instruction.make("LOAD", gb_addr=0, dram_addr=90, count=20)
    assert _outside([load], 110, 64) == [] and _outside([load], 100, 64)
    assert _outside([load], 110, 19)


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("small", STREAMED), ("tiny", TINY)])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_transfers_stay_inside_both_memories(cfg_name: str, net, name: str) -> None:
    cfg = config.load(cfg_name)
    plan = SCHEDULERS[name](cfg, net, *case(net, 0))
    assert _outside(plan.program, plan.dram_words, cfg.gb_words) == []


def _maps() -> tuple[Workload, FeatureMaps]:
    """STREAMED on `small` (layers 0 and 2 stream; 0 and 2 write the next map; 1 stores
    its outputs through a row buffer), feature maps allocated, nothing emitted yet."""
    cfg = config.load("small")
    w = Workload.of(cfg, STREAMED, [None] * 4)
    layout = in_banks(w.geo, w.scratch, w.phase_weights)
    fm = FeatureMaps(w.geo, layout, Emitter(cfg, materialize=False), [3, 4, 5, 6])
    fm.allocate(None)
    fm.allocate_outputs()
    fm.em.program.clear()
    return w, fm


def test_a_streamed_layer_loads_the_rows_each_run_reads() -> None:
    w, fm = _maps()
    geo, lay = w.geo, fm.layout
    assert not lay.resident[2] and lay.resident[1]
    at = fm.run_input(2, 3 * geo.runs[2])
    (load,) = fm.em.program
    assert at == lay.in_at[2] == load.gb_addr and load.count == geo.rows_words(2)
    assert load.dram_addr == fm.in_dram[2] + 3 * geo.runs[2] * geo.in_stride(2)
    # A resident map is read where it lies: nothing loaded.
    assert fm.run_input(1, 0) == lay.in_at[1] and len(fm.em.program) == 1


def test_outputs_go_into_the_next_map_or_to_main_memory() -> None:
    w, fm = _maps()
    geo, lay, em = w.geo, fm.layout, fm.em
    layers = w.net.layers
    # Layer 0 writes layer 1's (resident) map: REQUANT at the position's place, padding
    # included, nothing stored.
    run = geo.runs[0]
    fm.finish(0, run, run, 100)
    (sfu,) = em.program
    pad, wb = feeds(layers[0], layers[1]), w.cfg.global_buffer.word_bytes
    row = (1 + pad) * layers[1].ifmap_w + pad
    assert (sfu.opcode, sfu.src, sfu.shift, sfu.count) == \
        (Opcode.SFU, 100, 3, run * geo.pos_words[0])
    assert sfu.dst == lay.in_at[1] + row * layers[1].channels // wb
    # Layer 1 streams its outputs to layer 2's map in main memory through its row buffer.
    em.program.clear()
    fm.finish(1, 0, geo.runs[1], 100)
    sfu, store = em.program
    assert sfu.dst == lay.row_at[1] == store.gb_addr and store.opcode == Opcode.STORE
    assert store.count == geo.int8_words(1, geo.runs[1])
    assert fm.in_dram[2] <= store.dram_addr < fm.in_dram[2] + geo.map_words(2)
    # The last layer's raw int32 outputs go to the outputs region.
    em.program.clear()
    fm.finish(3, 0, 1, 100)
    (store,) = em.program
    region = fm.outputs_region()["outputs"]
    assert (store.opcode, store.dram_addr, store.count) == \
        (Opcode.STORE, region.addr, geo.pos_words[3])


def test_a_layer_start_loads_its_map_and_clears_the_next() -> None:
    w, fm = _maps()
    lay = fm.layout
    fm.layer_inputs(0)            # streamed, writes layer 1's map: that map cleared
    assert [(i.gb_addr, i.dram_addr, i.count) for i in fm.em.program] == \
        [(lay.in_at[1], fm.zeros, lay.in_size[1])]
    fm.em.program.clear()
    fm.layer_inputs(3)            # resident and written by layer 2: nothing to load
    assert fm.em.program == []


def _computes_the_network(cfg: config.Config, net, name: str, seed: int):
    """The golden run of ``net`` under scheduler ``name`` (weights and input of ``seed``),
    checked to end cleanly with the integer network's outputs; (plan, run)."""
    qs, x, shifts = case(net, seed)
    _, want = network.forward(net, qs, x, shifts)
    plan = SCHEDULERS[name](cfg, net, qs, x, shifts)
    res = golden.run(plan.image, RTL_OPCODES)
    assert res.fault == Fault.NONE, name
    assert outputs(plan.image, res, cfg, net).tolist() == want.tolist(), name
    return plan, res


@pytest.mark.parametrize(("net", "names"), [
    (POOLED, list(SCHEDULERS)),
    # The bank ILP finds no placement for its three maps in `small`'s four small banks.
    (POOLED_STREAMED, ["naive", "baseline"])])
def test_pooling_runs_on_the_vec_unit_and_computes_the_network(net, names) -> None:
    """Pooled layers give the integer network's outputs (:func:`network.forward`, which
    pools with :func:`firmware.glue.pool_map`) under every scheduler: the pooling runs as
    MAX8/AVG8 VECs on the chip, and a pooled map that fits the buffer never goes through
    main memory (only a map too large for it is stored, pooled)."""
    cfg = config.load("small")
    qs = case(net, 3)[0]
    for name in names:
        plan, res = _computes_the_network(cfg, net, name, 3)
        vecs = [e.insn.func for e in res.trace if e.insn.opcode == Opcode.VEC]
        kinds = {net.pool(i).kind for i in range(len(net.layers)) if net.pool(i)}
        assert set(vecs) == {{"max": VecFunc.MAX8, "avg": VecFunc.AVG8}[k] for k in kinds}
        stored = sum(e.insn.count for e in res.trace if e.insn.opcode == Opcode.STORE)
        last = net.layers[-1]
        int32_out = last.windows * Workload.of(cfg, net, qs).geo.pos_words[-1]
        pooled_map = net.layers[1].ifmap_bytes // cfg.global_buffer.word_bytes
        assert stored == int32_out + (pooled_map if net is POOLED_STREAMED else 0), name


def test_a_pooled_layer_runs_a_vec_per_pair_down_and_along_each_window() -> None:
    """POOLED's first layer (5 x 5 out, 3 x 3 stride-2 max pool, padding 1): output rows
    take input rows (0, 1), (1, 2, 3), (3, 4): 1 + 2 + 1 VECs down the windows, then 2
    windowed VECs along each of the 3 rows; its second layer's 2 x 2 average pool (3 x 3
    out, the last row and column dropped): one of each for its one row."""
    cfg = config.load("small")
    plan = SCHEDULERS["baseline"](cfg, POOLED, *case(POOLED, 0))
    vecs = {0: [0, 0], 1: [0, 0]}
    for insn, layer in zip(plan.program, plan.layer_of, strict=True):
        if insn.opcode == Opcode.VEC:
            vecs[layer][insn.windowed] += 1
    assert vecs == {0: [4, 6], 1: [1, 1]}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_residual_adds_run_on_the_chip_from_kept_maps(name: str) -> None:
    """RESIDUAL's two sums (the projection plus the kept branch output; the branch plus
    the block's kept input) give the integer network's outputs under every scheduler:
    one ADD8_RELU per output row of each adding layer, and no map goes through main
    memory but the first layer's input and the outputs."""
    cfg = nets.banked_small()
    plan, res = _computes_the_network(cfg, RESIDUAL, name, 3)
    adds = [e.insn for e in res.trace if e.insn.opcode == Opcode.VEC]
    assert [a.func for a in adds] == [VecFunc.ADD8_RELU] * 8
    stores = [e.insn for e in res.trace if e.insn.opcode == Opcode.STORE]
    assert stores and all(s.dram_addr >= plan.image.regions["outputs"].addr for s in stores)


def test_the_integer_network_adds_as_resnet_does() -> None:
    """The reference sums by hand: branch outputs requantized without ReLU, the sum
    clipped to INT8 and then ReLU'd; a layer whose output is added is not ReLU'd."""
    assert [RESIDUAL.relu(i) for i in range(len(RESIDUAL.layers))] == \
        [True, True, True, False, False, True, False, True]
    qs, x, shifts = case(RESIDUAL, 1)
    ins, _ = network.forward(RESIDUAL, qs, x, shifts)
    acc_c = network.convolve(RESIDUAL.layers[3], qs[3], ins[3])
    acc_p = network.convolve(RESIDUAL.layers[4], qs[4], ins[1])   # the block's input
    c = network.requant(acc_c, shifts[3])
    p = network.requant(acc_p, shifts[4])
    assert ins[5].reshape(-1, 32).tolist() == np.maximum(np.clip(c + p, -128, 127),
                                                         0).tolist()


@pytest.mark.cosim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_glue_on_the_chip_cosimulates(sim: str, tmp_path) -> None:
    """Pooling (into a resident map, and stored to main memory and streamed back),
    residual adds from kept maps and concatenation blocks (two-area slots, and bank-ILP
    buffers on a banked `small`), in the RTL: bit- and cycle-exact against the models,
    and the integer network's outputs."""
    small = config.load("small")
    for cfg, net, name in ((small, POOLED, "+reuse"), (small, POOLED_STREAMED, "baseline"),
                           (small, RESIDUAL, "baseline"),
                           (nets.banked_small(), RESIDUAL, "+reuse"),
                           (small, DENSE, "baseline"), (nets.banked_small(), DENSE, "+reuse"),
                           (small, RESIDUAL_SPILLED, "baseline")):
        qs, x, shifts = case(net, 6)
        img = SCHEDULERS[name](cfg, net, qs, x, shifts).image
        rtl = nets.cosimulated(img, sim, tmp_path / f"{net.name}-{name}")
        _, want = network.forward(net, qs, x, shifts)
        assert outputs(img, rtl, cfg, net).tolist() == want.tolist(), (net.name, name)


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_dense_layers_append_to_one_block_map_read_in_place(name: str) -> None:
    """DENSE's concatenations give the integer network's outputs (numpy's concatenate)
    under every scheduler: the block is one buffer map of 48 channels (6 words) a
    position, the dense layers and the transition read it in place at that stride and
    each dense layer's outputs are copied in after the channels before them; with two
    areas nothing but the input and the outputs goes through main memory."""
    cfg = nets.banked_small()
    plan, res = _computes_the_network(cfg, DENSE, name, 4)
    geo = Workload.of(cfg, DENSE, case(DENSE, 4)[0]).geo
    assert geo.blocks == {1: ("d1a:in", 6), 3: ("d1a:in", 6), 5: ("d1a:in", 6)}
    assert [geo.in_stride(i) for i in (1, 3, 5)] == [6, 6, 6]
    copies = [e.insn for e in res.trace if e.insn.opcode == Opcode.VEC and
              e.insn.func == VecFunc.MAX8 and e.insn.src_a == e.insn.src_b]
    assert len(copies) == 2 * 4 and {c.count for c in copies} == {2}   # 16 channels
    if name in ("naive", "baseline"):   # two areas (banked: maps over a bank stream)
        stores = [e.insn for e in res.trace if e.insn.opcode == Opcode.STORE]
        assert stores and all(s.dram_addr >= plan.image.regions["outputs"].addr
                              for s in stores)


@pytest.mark.parametrize("name", ["naive", "baseline"])
def test_kept_maps_that_do_not_fit_stay_in_main_memory(name: str) -> None:
    """On `small`, RESIDUAL_SPILLED's largest kept maps stay in main memory and the rest in
    the buffer; the network is still computed exactly: the projection block's sum that
    makes the second block's input also stores it, and each sum from a map in main
    memory loads the run's rows first."""
    cfg = config.load("small")
    w = Workload.of(cfg, RESIDUAL_SPILLED, case(RESIDUAL_SPILLED, 0)[0])
    layout = two_areas(w.geo, w.scratch)
    assert layout.spilled == {"b1c", "b2a:in"} and set(layout.keep_at) == {"b1a:in"}
    plan, res = _computes_the_network(cfg, RESIDUAL_SPILLED, name, 5)
    words = 5 * 32 // cfg.global_buffer.word_bytes   # one output row of a sum
    by_layer = {}
    for insn, layer in zip(plan.program, plan.layer_of, strict=True):
        if insn.opcode in (Opcode.LOAD, Opcode.STORE) and insn.count == words:
            by_layer.setdefault(layer, []).append(insn.opcode)
    # b1c stores its rows; b1p loads b1c's and stores its sums (b2a's input); b2c loads.
    assert by_layer[3] == [Opcode.STORE] * 5
    assert by_layer[4] == [Opcode.LOAD, Opcode.STORE] * 5
    assert by_layer[6] == [Opcode.LOAD] * 5


# Glue paths the built-in networks do not take: a layer reading an earlier layer's kept
# output (and another reading its input), and a residual sum written into a block.
READS_OUTPUT = Network("reads_output", (
    Layer("c0", 6, 6, 3, 3, 1, 16, 1), Layer("a", 4, 4, 1, 1, 16, 16, 1),
    Layer("b", 4, 4, 1, 1, 16, 16, 1), Layer("c", 4, 4, 1, 1, 16, 16, 1),
    Layer("fc", 1, 1, 1, 1, 4 * 4 * 16, 4, 1)), "test",
    (None, None, Glue(input="a:in"), Glue(input="a"), None))
SUM_INTO_BLOCK = Network("sum_into_block", (
    Layer("c0", 6, 6, 3, 3, 1, 16, 1), Layer("r", 4, 4, 1, 1, 16, 16, 1),
    Layer("h", 4, 4, 1, 1, 16, 16, 1), Layer("d", 6, 6, 3, 3, 16, 16, 1),
    Layer("t", 4, 4, 1, 1, 32, 16, 1), Layer("fc", 1, 1, 1, 1, 4 * 4 * 16, 4, 1)), "test",
    (None, Glue(add="r:in"), None, Glue(concat="h:in"), None, None))


@pytest.mark.parametrize("net", [READS_OUTPUT, SUM_INTO_BLOCK], ids=lambda n: n.name)
@pytest.mark.parametrize("name", ["baseline", "+banks"])
def test_less_common_glue_computes_the_network(net, name: str) -> None:
    """Both placements: a layer reading a kept output finds it in that map's buffer (not
    the producer's input buffer), and a sum into a block is copied in from where it was
    summed."""
    network.check_glue(net, "test")
    _computes_the_network(nets.banked_small(), net, name, 7)
