// Co-simulation harness: clock, reset, instruction and main memories around the chip.
//
// The clock is generated here, not by a Python coroutine, so Python only wakes per
// analog transaction. Each run starts when the bench raises `start`: the harness loads
// the memories with $readmemh from +imem= and +dram=, clears the global buffer through
// the debug port, holds reset for 4 cycles (the chip sees it through a flip-flop), and
// when the chip halts copies the buffer out, writes +dram_out= and +gb_out=, and raises
// `done` until `start` falls. A bench can so run many programs in one simulation.
// +vcd=FILE dumps waves. Without a bench, +autostart runs one program (the analog ports
// then read zeros) and +idle=N keeps the halted chip running N more cycles: benchmarks
// time the simulator alone with them.
`timescale 1ns/1ps
module harness #(
    parameter IMEM_DEPTH = 256,
    parameter IMEM_AW = 9,
    parameter DRAM_WORDS = 4096,
    parameter DRAM_BITS = 64,
    parameter DRAM_LANES = 1,   // words a main-memory port moves per cycle (port_words)
    parameter LANE_COUNT_BITS = 1,  // bits of a count 0..DRAM_LANES (inv_wr_count)
    parameter GB_WORDS = 128,
    parameter GB_AW = 7,
    parameter GB_BITS = 64,
    parameter ROWS = 16,
    parameter CODE_BITS = 96,
    parameter CODE_SLOTS = 1,
    parameter DELTA_BITS = 64,
    parameter XBAR_BITS = 16,
    parameter NBANKS = 3,
    parameter ACT_BITS = 8,
    parameter INV_BITS = 512,
    parameter INV_COUNT = 1,
    parameter WRITE_ENGINES = 1  // write engines: engine e's ports are the e-th slices
) ();
    reg clk = 1'b0;
    always #0.5 clk = ~clk;  // 1 GHz
    reg rst = 1'b1;
    // The chip's reset comes from a flip-flop, not from the sequencing below: Verilator
    // re-evaluates logic that reads a signal its timed processes write at every time
    // step, and every flip-flop of the chip reads its reset (RTL alone: -22% instructions).
    reg rst_q = 1'b1;
    always @(posedge clk) rst_q <= rst;
    reg start = 1'b0;   // driven by the bench
    reg done = 1'b0;
    integer runs = 0;

    reg [127:0] imem [0:IMEM_DEPTH-1];
    reg [DRAM_BITS-1:0] dram [0:DRAM_WORDS-1];
    reg [GB_BITS-1:0] gb_copy [0:GB_WORDS-1];

    wire [IMEM_AW-1:0] imem_addr;
    reg  [127:0] imem_data = 128'd0;
    wire dram_we;
    wire [DRAM_LANES-1:0] dram_en;              // an enable per word of the port
    wire [31:0] dram_addr;                      // the first word's address
    wire [DRAM_LANES*DRAM_BITS-1:0] dram_wdata;
    reg  [DRAM_LANES*DRAM_BITS-1:0] dram_rdata = 0;
    // Each write engine's own read port, engine e's in the e-th slice.
    wire [WRITE_ENGINES*DRAM_LANES-1:0] wdram_en;
    wire [WRITE_ENGINES*32-1:0] wdram_addr;
    reg  [WRITE_ENGINES*DRAM_LANES*DRAM_BITS-1:0] wdram_rdata = 0;
    wire xbar_req_valid;
    wire [WRITE_ENGINES-1:0] xbar_wr_valid;
    wire xbar_wr_any = |xbar_wr_valid;          // the write monitor wakes on this
    wire [XBAR_BITS-1:0] xbar_req_id;
    wire [WRITE_ENGINES*XBAR_BITS-1:0] xbar_wr_id;
    wire [WRITE_ENGINES*16-1:0] xbar_wr_row;
    wire [ROWS-1:0] xbar_req_plane;
    wire [ROWS*ACT_BITS-1:0] xbar_req_acts;
    wire [7:0] xbar_req_ncols;
    wire [15:0] xbar_req_nrows;
    // The crossbar model answers a VMM window into one slot per crossbar the VMM spans
    // (row block, column), a write of the crossbars in use rather than of the whole port,
    // then toggles xbar_resp_commit, which copies the slots onto the port. A copy on that
    // event, not combinational logic: Verilator would redo a 16-kbit copy at every time
    // step (a quarter of the RTL's cost on the small config).
    localparam SLOT_BITS = CODE_BITS / CODE_SLOTS;
    reg  [SLOT_BITS-1:0] xbar_resp_slot [0:CODE_SLOTS-1];   // driven by the Python model
    reg  xbar_resp_commit = 1'b0;                            // driven by the Python model
    reg  [CODE_BITS-1:0] xbar_resp_codes = 0;
    integer slot;
    always @(xbar_resp_commit)
        for (slot = 0; slot < CODE_SLOTS; slot = slot + 1)
            xbar_resp_codes[slot*SLOT_BITS +: SLOT_BITS] = xbar_resp_slot[slot];
    wire [WRITE_ENGINES*DELTA_BITS-1:0] xbar_wr_deltas;
    wire inv_req_valid, inv_wr_valid, inv_wr_done;
    wire [XBAR_BITS-1:0] inv_req_id, inv_wr_id;
    wire [INV_BITS-1:0] inv_req_b;
    wire [7:0] inv_req_shift;
    reg  [INV_BITS-1:0] inv_resp_x = 0;        // driven by the Python INV model
    wire [15:0] inv_wr_index;
    wire [LANE_COUNT_BITS-1:0] inv_wr_count;   // words of inv_wr_data this cycle
    wire [DRAM_LANES*DRAM_BITS-1:0] inv_wr_data;
    reg  [INV_COUNT-1:0] inv_ok = 0;           // driven by the Python INV model
    wire halted;
    wire [7:0] fault;
    wire [IMEM_AW-1:0] pc;
    wire [63:0] cycles, stall_cycles, write_busy_cycles, overlap_cycles;
    wire [63:0] pulses;
    wire [64*NBANKS-1:0] bank_active_cycles;
    reg  [GB_AW-1:0] dbg_gb_addr = 0;
    wire [GB_BITS-1:0] dbg_gb_data;
    reg  dbg_gb_we = 1'b0;

    chip u_chip (
        .clk(clk), .rst(rst_q),
        .imem_addr(imem_addr), .imem_data(imem_data),
        .dram_en(dram_en), .dram_we(dram_we), .dram_addr(dram_addr),
        .dram_wdata(dram_wdata), .dram_rdata(dram_rdata),
        .wdram_en(wdram_en), .wdram_addr(wdram_addr), .wdram_rdata(wdram_rdata),
        .xbar_req_valid(xbar_req_valid), .xbar_req_id(xbar_req_id),
        .xbar_req_plane(xbar_req_plane), .xbar_req_acts(xbar_req_acts),
        .xbar_req_ncols(xbar_req_ncols), .xbar_req_nrows(xbar_req_nrows),
        .xbar_resp_codes(xbar_resp_codes),
        .xbar_wr_valid(xbar_wr_valid), .xbar_wr_id(xbar_wr_id), .xbar_wr_row(xbar_wr_row),
        .xbar_wr_deltas(xbar_wr_deltas),
        .inv_req_valid(inv_req_valid), .inv_req_id(inv_req_id), .inv_req_b(inv_req_b),
        .inv_req_shift(inv_req_shift), .inv_resp_x(inv_resp_x),
        .inv_wr_valid(inv_wr_valid), .inv_wr_id(inv_wr_id), .inv_wr_index(inv_wr_index),
        .inv_wr_count(inv_wr_count), .inv_wr_data(inv_wr_data), .inv_wr_done(inv_wr_done), .inv_ok(inv_ok),
        .halted(halted), .fault(fault), .pc(pc), .cycles(cycles),
        .stall_cycles(stall_cycles), .write_busy_cycles(write_busy_cycles),
        .overlap_cycles(overlap_cycles), .pulses(pulses),
        .bank_active_cycles(bank_active_cycles),
        .dbg_gb_addr(dbg_gb_addr), .dbg_gb_data(dbg_gb_data), .dbg_gb_we(dbg_gb_we)
    );

    // Synchronous memories: data the cycle after the address. Each main-memory port moves
    // DRAM_LANES consecutive words, lane 0 at the address, in the low bits.
    integer lane, eng;
    always @(posedge clk) begin
        imem_data <= (imem_addr < IMEM_DEPTH) ? imem[imem_addr] : 128'd0;
        for (lane = 0; lane < DRAM_LANES; lane = lane + 1) begin
            if (dram_en[lane]) begin
                if (dram_we) dram[dram_addr + lane] <= dram_wdata[lane*DRAM_BITS +: DRAM_BITS];
                dram_rdata[lane*DRAM_BITS +: DRAM_BITS] <= dram[dram_addr + lane];
            end
            for (eng = 0; eng < WRITE_ENGINES; eng = eng + 1)
                if (wdram_en[eng*DRAM_LANES + lane])
                    wdram_rdata[(eng*DRAM_LANES + lane)*DRAM_BITS +: DRAM_BITS] <=
                        dram[wdram_addr[eng*32 +: 32] + lane];
        end
    end

    reg [8*1024-1:0] path;
    integer i, idle;
    initial begin
        for (i = 0; i < CODE_SLOTS; i = i + 1) xbar_resp_slot[i] = 0;
        if ($value$plusargs("vcd=%s", path)) begin
            $dumpfile(path);
            $dumpvars(0, harness);
        end
        // +autostart runs one program without a bench (for timing the simulator alone).
        if ($test$plusargs("autostart")) start = 1'b1;
        forever begin
            wait (start === 1'b1);
            rst = 1'b1;
            for (i = 0; i < IMEM_DEPTH; i = i + 1) imem[i] = 128'd0;
            for (i = 0; i < DRAM_WORDS; i = i + 1) dram[i] = 0;
            if ($value$plusargs("imem=%s", path)) $readmemh(path, imem);
            else begin $display("harness: no +imem= given"); $finish; end
            if ($value$plusargs("dram=%s", path)) $readmemh(path, dram);
            // Clear the global buffer (its contents survive reset) through the debug port.
            dbg_gb_we = 1'b1;
            for (i = 0; i < GB_WORDS; i = i + 1) begin
                @(negedge clk);
                dbg_gb_addr = i;
            end
            @(negedge clk);
            dbg_gb_we = 1'b0;
            repeat (4) @(negedge clk);
            rst = 1'b0;
            wait (halted === 1'b1);
            // Copy the global buffer out through the synchronous debug port.
            for (i = 0; i < GB_WORDS; i = i + 1) begin
                @(negedge clk);
                dbg_gb_addr = i;
                @(negedge clk);
                gb_copy[i] = dbg_gb_data;
            end
            if ($value$plusargs("dram_out=%s", path)) $writememh(path, dram);
            if ($value$plusargs("gb_out=%s", path)) $writememh(path, gb_copy);
            @(negedge clk);
            runs = runs + 1;
            done = 1'b1;
            if ($test$plusargs("autostart")) begin
                // +idle=N: N more cycles of the halted chip (the simulator's floor cost).
                if ($value$plusargs("idle=%d", idle)) repeat (idle) @(posedge clk);
                $display("harness: halted after %0d cycles, fault %0d", cycles, fault);
                $finish;
            end
            wait (start === 1'b0);
            done = 1'b0;
        end
    end
endmodule
