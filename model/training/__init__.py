"""The training experiments: the float digits CNNs and their trainer, optimizers (K-FAC
with factor solves on the analog INV arrays), and what the solves cost on the chip."""
