"""``reram-pim``: one command for the whole flow, a subcommand per job.

``reram-pim <command> [options]``; ``reram-pim <command> --help`` for its options. Each
command module is imported only when run, so ``asm`` does not load the RTL tools.
"""

from __future__ import annotations

import importlib
import sys

from firmware import cli

#: Command name: (module with a ``main(argv) -> int``, one line of help).
COMMANDS = {
    "sim": ("cocotb_tests.sim", "co-simulate a regression program on the RTL "
                                "(what `make sim` runs)"),
    "report": ("reram_pim.report", "networks x schedulers on a chip, beside the paper and "
                                   "the TPU-like accelerator (`make report`)"),
    "sweep": ("reram_pim.sweep", "a design-space sweep from a TOML spec, locally or on a "
                                 "Dask cluster"),
    "asm": ("reram_pim.asm", "assemble program text into instruction words"),
    "disasm": ("reram_pim.asm", "disassemble instruction words (or an image) into text"),
    "topology": ("reram_pim.topology", "a network's layers, weights and the crossbars "
                                       "they need"),
}


def usage() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = ["usage: reram-pim <command> [options]", "", "commands:"]
    lines += [f"  {name:{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "reram-pim <command> --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else cli.USAGE
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command '{name}'; expected one of {', '.join(COMMANDS)} "
              "(see reram-pim --help)", file=sys.stderr)
        return cli.USAGE
    module = importlib.import_module(COMMANDS[name][0])
    run = getattr(module, f"main_{name}", None) or module.main
    return run(rest)


def entry() -> None:
    """The console script: :func:`main` with one-line errors and a clean Ctrl-C."""
    cli.run_main(main)
