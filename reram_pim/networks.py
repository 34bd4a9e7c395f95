"""Networks by name or file, for the commands: a built-in name or a topology CSV
(:func:`firmware.network.load`), or an ONNX model (:func:`firmware.onnx_import.read_onnx`)."""

from __future__ import annotations

from pathlib import Path

from firmware import network


def load_network(name_or_path: str) -> network.Network:
    """The network a command line names."""
    if Path(name_or_path).suffix.lower() == ".onnx":
        from firmware.onnx_import import read_onnx
        return read_onnx(name_or_path).network
    return network.load(name_or_path)
