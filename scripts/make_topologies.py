"""Write the built-in topology files (``firmware/topologies/*.csv``, and the
``*.glue.toml`` of the glue between their layers) from the published architectures of
:mod:`firmware.architectures`: VGG-16, ResNet-50, DenseNet-161 and BERT-Base /
BERT-Large at sequence length 128.

Usage: ``python scripts/make_topologies.py`` (the files are committed; a test checks
that they are what this script writes).
"""

from __future__ import annotations

from firmware import cli
from firmware.architectures import GLUE, NETWORKS, render
from firmware.glue import glue_path, render_glue
from firmware.network import BUILTIN, TOPOLOGY_DIR


def main() -> None:
    cli.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    TOPOLOGY_DIR.mkdir(exist_ok=True)
    for name, build in NETWORKS.items():
        (TOPOLOGY_DIR / f"{name}.csv").write_text(render(build()))
        print(f"wrote {TOPOLOGY_DIR / name}.csv")
        if name in GLUE:
            path = glue_path(TOPOLOGY_DIR / f"{name}.csv")
            path.write_text(render_glue(GLUE[name](), f"{BUILTIN[name]}: the glue between its "
                                        "layers (written by make_topologies.py)"))
            print(f"wrote {path}")


if __name__ == "__main__":
    cli.run_main(main)
