package stack

import "github.com/stackscope/stackscope/tracing"

// Trace registrations for receive-buffer autotuning (tcp_rcvbuf.go).
var (
	fnTcpRcvRttMeasure, fnTcpRcvRttMeasureTs, fnTcpRcvSpaceAdjust tracing.FuncID
	fnTcpGrowWindow, fnTcpClampWindow                             tracing.FuncID
)

func init() {
	const tcpInputC = "net/ipv4/tcp_input.c"
	fnTcpRcvRttMeasure = reg("tcp_rcv_rtt_measure", tcpInputC, (*Kernel).tcpRcvRttMeasure, []string{"sample_us", "rcv_rtt_us"},
		"The receiver's own RTT estimate: the time a whole window took to arrive is one sample. Such samples can "+
			"only lower the estimate (a window may take longer than an RTT).")
	fnTcpRcvRttMeasureTs = reg("tcp_rcv_rtt_measure_ts", tcpInputC, (*Kernel).tcpRcvRttMeasureTs, []string{"sample_us", "rcv_rtt_us"},
		"The receiver's RTT from timestamps: a full-sized segment echoing a new timestamp of ours tells how long ago "+
			"we sent it. The estimate is smoothed (7/8 old, 1/8 new).")
	fnTcpRcvSpaceAdjust = reg("tcp_rcv_space_adjust", tcpInputC, (*Kernel).tcpRcvSpaceAdjust, []string{"sk", "sk_rcvbuf"},
		"Receive-buffer autotuning, as the reader copies data: once per receiver RTT, the bytes read in that RTT; "+
			"more than last time grows sk_rcvbuf (twice that much plus 16 segments, more in slow start) toward "+
			"tcp_rmem[2], unless SO_RCVBUF fixed it, and window_clamp with it. The model takes half of a buffer as "+
			"window, 6.x's starting guess; Linux refines that ratio from the skbs it receives (len/truesize).")
	fnTcpGrowWindow = reg("tcp_grow_window", tcpInputC, (*Kernel).tcpGrowWindow, []string{"sk", "rcv_ssthresh"},
		"A full-sized segment came: rcv_ssthresh, the most window we offer, grows by two segments (up to what the "+
			"buffer and window_clamp allow), so the window opens as the sender speeds up.")
	fnTcpClampWindow = reg("tcp_clamp_window", tcpInputC, (*Kernel).tcpClampWindow, []string{"sk", "sk_rcvbuf"},
		"The receive queue filled sk_rcvbuf: the buffer grows to what is allocated (up to tcp_rmem[2], unless "+
			"SO_RCVBUF fixed it); still overrun, rcv_ssthresh drops to two segments.")
}
