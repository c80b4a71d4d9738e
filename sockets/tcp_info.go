package sockets

// TcpInfo is struct tcp_info (include/uapi/linux/tcp.h, Linux 6.12): what
// getsockopt(fd, SOL_TCP, TCP_INFO) copies to the user and what `ss -ti`
// prints. The fields are in the kernel's order with the kernel's widths;
// times are in microseconds (rto, ato, rtt, rttvar, rcv_rtt, min_rtt) or
// milliseconds (last_*, total_rto_time), as in Linux. For a listener only
// state, ca_state, reordering, snd_cwnd, the pacing rates and the accept
// queue figures are filled in: tcpi_unacked is sk_ack_backlog and
// tcpi_sacked is sk_max_ack_backlog.
type TcpInfo struct {
	TcpiState       uint8
	TcpiCaState     uint8
	TcpiRetransmits uint8
	TcpiProbes      uint8
	TcpiBackoff     uint8
	TcpiOptions     uint8 // TCPI_OPT_* bits
	TcpiSndWscale   uint8 // 4 bits in the kernel's struct
	TcpiRcvWscale   uint8 // 4 bits

	TcpiDeliveryRateAppLimited uint8 // 1 bit
	TcpiFastopenClientFail     uint8 // 2 bits

	TcpiRto    uint32
	TcpiAto    uint32
	TcpiSndMss uint32
	TcpiRcvMss uint32

	TcpiUnacked uint32
	TcpiSacked  uint32
	TcpiLost    uint32
	TcpiRetrans uint32
	TcpiFackets uint32

	TcpiLastDataSent uint32
	TcpiLastAckSent  uint32 // never filled in by Linux ("not remembered")
	TcpiLastDataRecv uint32
	TcpiLastAckRecv  uint32

	TcpiPmtu        uint32
	TcpiRcvSsthresh uint32
	TcpiRtt         uint32
	TcpiRttvar      uint32
	TcpiSndSsthresh uint32
	TcpiSndCwnd     uint32
	TcpiAdvmss      uint32
	TcpiReordering  uint32

	TcpiRcvRtt   uint32
	TcpiRcvSpace uint32

	TcpiTotalRetrans uint32

	TcpiPacingRate    uint64
	TcpiMaxPacingRate uint64
	TcpiBytesAcked    uint64
	TcpiBytesReceived uint64
	TcpiSegsOut       uint32
	TcpiSegsIn        uint32

	TcpiNotsentBytes uint32
	TcpiMinRtt       uint32
	TcpiDataSegsIn   uint32
	TcpiDataSegsOut  uint32

	TcpiDeliveryRate uint64

	TcpiBusyTime      uint64
	TcpiRwndLimited   uint64
	TcpiSndbufLimited uint64

	TcpiDelivered   uint32
	TcpiDeliveredCe uint32

	TcpiBytesSent    uint64
	TcpiBytesRetrans uint64
	TcpiDsackDups    uint32
	TcpiReordSeen    uint32

	TcpiRcvOoopack uint32

	TcpiSndWnd uint32
	TcpiRcvWnd uint32

	TcpiRehash uint32

	TcpiTotalRto           uint16
	TcpiTotalRtoRecoveries uint16
	TcpiTotalRtoTime       uint32
}

// SizeofTcpInfo is sizeof(struct tcp_info) in Linux 6.12 on a 64-bit
// machine: the optlen getsockopt(TCP_INFO) reports at most.
const SizeofTcpInfo = 248

// tcpi_options bits (include/uapi/linux/tcp.h).
const (
	TCPI_OPT_TIMESTAMPS = 1
	TCPI_OPT_SACK       = 2
	TCPI_OPT_WSCALE     = 4
	TCPI_OPT_ECN        = 8
	TCPI_OPT_ECN_SEEN   = 16
	TCPI_OPT_SYN_DATA   = 32
	TCPI_OPT_USEC_TS    = 64
)

// Congestion-avoidance states, icsk_ca_state (enum tcp_ca_state).
const (
	TCP_CA_Open     = 0
	TCP_CA_Disorder = 1
	TCP_CA_CWR      = 2
	TCP_CA_Recovery = 3
	TCP_CA_Loss     = 4
)

// CaStateName returns the enum name of a tcp_ca_state value.
func CaStateName(s uint8) string {
	switch s {
	case TCP_CA_Open:
		return "TCP_CA_Open"
	case TCP_CA_Disorder:
		return "TCP_CA_Disorder"
	case TCP_CA_CWR:
		return "TCP_CA_CWR"
	case TCP_CA_Recovery:
		return "TCP_CA_Recovery"
	case TCP_CA_Loss:
		return "TCP_CA_Loss"
	}
	return "TCP_CA_?"
}
