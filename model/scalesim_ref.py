"""ScaleSim 3.0's compute model, run layer by layer: the reference :mod:`model.tpu`'s
closed form is checked against (tests and ``scripts/tpu_validate.py``). ScaleSim is the
optional ``scalesim`` extra; it is imported only when called."""

from __future__ import annotations

from firmware.network import Layer


def compute_cycles(layer: Layer, rows: int, cols: int, dataflow: str) -> int:
    """ScaleSim's compute cycles of one layer: the length of its compute model's demand
    matrices (no memory stalls), built as its single-layer simulation builds them."""
    from scalesim.compute.operand_matrix import operand_matrix
    from scalesim.compute.systolic_compute_os import systolic_compute_os
    from scalesim.compute.systolic_compute_ws import systolic_compute_ws
    from scalesim.layout_utils import layouts
    from scalesim.scale_config import scale_config
    from scalesim.topology_utils import topologies

    cfg = scale_config()
    cfg.set_arr_dims(rows, cols)
    cfg.set_dataflow(dataflow)
    cfg.force_valid()          # its defaults stand for a config file not read
    topo = topologies()
    s = layer.stride
    topo.load_layer_params_from_list(layer.name, [
        layer.name, layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
        layer.channels, layer.filters, s, s, 1, 1])
    ops = operand_matrix()
    ops.set_params(config_obj=cfg, topoutil_obj=topo, layoututil_obj=layouts(), layer_id=0)
    ops.create_operand_matrices()
    compute = {"ws": systolic_compute_ws, "os": systolic_compute_os}[dataflow]()
    compute.set_params(config_obj=cfg, ifmap_op_mat=ops.get_ifmap_matrix()[1],
                       filter_op_mat=ops.get_filter_matrix()[1],
                       ofmap_op_mat=ops.get_ofmap_matrix()[1])
    compute.create_demand_matrices()
    lengths = {m.shape[0] for m in (compute.ifmap_demand_matrix,
                                    compute.filter_demand_matrix,
                                    compute.ofmap_demand_matrix)}
    if len(lengths) != 1:
        raise RuntimeError(f"ScaleSim's demand matrices out of step: {lengths}")
    return lengths.pop()
