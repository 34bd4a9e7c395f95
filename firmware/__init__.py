"""Firmware side of the chip: configuration schema, ISA, assembler, scheduler and images."""
