"""Behavioral models. At the top, the chip's: golden interpreter, reference, timing,
energy, checker, full-scale inference figures; ``analog/`` the devices they use;
``training/`` the training experiments; ``reports/`` the papers' comparisons."""
