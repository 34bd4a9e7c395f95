"""``python -m reram_pim``: the same as the ``reram-pim`` command."""

from firmware import cli
from reram_pim.cli import main

cli.run_main(main)
