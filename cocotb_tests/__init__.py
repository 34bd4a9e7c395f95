"""cocotb benches: the Verilog harness, analog-port responders and the bench runner."""
