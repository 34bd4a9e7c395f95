"""The ``reram-pim`` command line over the whole flow (:mod:`reram_pim.cli`)."""
