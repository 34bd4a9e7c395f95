"""The ARAS report (``make report``): ``reram-pim report`` under its old name; see
:mod:`reram_pim.report` for the options."""

from firmware import cli
from reram_pim.report import main

if __name__ == "__main__":
    cli.run_main(main)
