"""Analog device models: the crossbar (VMM through DACs and ADCs, device variation, read
noise), the physics of row writes, the INV array and high-precision refinement on it."""
