"""Digital logic of the chip in Amaranth 0.5; Verilog is generated into ``build/``."""
