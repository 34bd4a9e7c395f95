"""Firmware side of the chip: configuration schema, ISA, assembler, schedulers and images."""
