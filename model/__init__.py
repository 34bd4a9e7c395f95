"""Behavioral models: analog crossbar, write physics, golden interpreter, timing, checker."""
