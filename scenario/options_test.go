package scenario

import (
	"testing"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/header"
)

// TCP options and the checks on incoming segments as 6.12 makes them
// (found by a review of tcp_parse_options, tcp_validate_incoming and
// tcp_v4_rcv; each test fails on the build before its fix).

// Review: TCP option parsing and incoming-segment validation vs 6.12.

// TestSimOpenSynAckEchoesTsval: in a simultaneous open the SYN-ACK
// (tcp_send_synack -> tcp_transmit_skb -> tcp_syn_options) echoes
// tp->rx_opt.ts_recent, which tcp_rcv_synsent_state_process has just set
// from the peer's SYN (tcp_store_ts_recent).
func TestSimOpenSynAckEchoesTsval(t *testing.T) {
	_, err := runScript(t, `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
 +.01 < S 0:0(0) win 65535 <mss 1000,sackOK,TS val 700 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 110 ecr 700,nop,wscale 7>
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestSynMssZeroAfterMss: tcp_parse_options ignores an MSS option
// of 0 (if (in_mss)), so an earlier MSS option still sets mss_clamp.
func TestSynMssZeroAfterMss(t *testing.T) {
	_, err := runScript(t, `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 8) = 0
 +.1 < S 0:0(0) win 65535 <mss 1000,mss 0,nop,nop>
   +0 > S. 0:0(0) ack 1 <mss 1460>
 +.1 < . 1:1(0) ack 1 win 65535
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_snd_mss == 1000, tcpi_snd_mss }%
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestTwoSackOptionsLastWins: tcp_parse_options records only the
// offset of the last SACK option (TCP_SKB_CB(skb)->sacked is overwritten),
// so tcp_sacktag_write_queue sees only 3001:4001.
func TestTwoSackOptionsLastWins(t *testing.T) {
	_, err := runScript(t, sackServer+`  +.1 < . 1:1(0) ack 1 win 514 <sack 1001:2001,sack 3001:4001>
   +0 %{ assert tcpi_sacked == 1, tcpi_sacked }%
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestTsEcrZeroStaysZero: tcp_parse_aligned_timestamp keeps a TS ecr
// of 0 as 0 (and tcp_fast_parse_options subtracts tsoffset only from a
// non-zero one), so tcp_rcv_rtt_measure_ts sees rcv_tsecr 0, which differs
// from rcv_rtt_last_tsecr, and takes tcp_time_stamp_ts - 0 as a sample:
// the receive RTT estimate grows (old - old/8 + sample). (Script TS val
// 100 is the model's clock 0: ecr 150 is a 150 ms sample at t=0.2 s.)
func TestTsEcrZeroStaysZero(t *testing.T) {
	_, err := runScript(t, tsRcvRttSampled+`  +.1 < . 1001:2001(1000) ack 1 win 514 <nop,nop,TS val 400 ecr 0>
   +0 %{ assert tcpi_rcv_rtt > 150000, tcpi_rcv_rtt }%
`)
	if err != nil {
		t.Fatal(err)
	}
}

// injectTCP hands the kernel an IPv4 frame from the script's peer
// carrying tcp as its payload, as injectPacket does.
func injectTCP(t *testing.T, r *Runner, tcp []byte) {
	t.Helper()
	frame := make([]byte, header.IPv4MinSize+len(tcp))
	copy(frame[header.IPv4MinSize:], tcp)
	r.conn.ipID++
	header.IPv4(frame).Encode(header.IPv4Fields{Total: len(frame), ID: r.conn.ipID, FragOff: header.IP_DF, TTL: 64,
		Protocol: header.IPPROTO_TCP, Src: RemoteAddr, Dst: LocalAddr})
	if err := r.k.Receive(r.dev, frame); err != nil {
		t.Fatal(err)
	}
	if err := r.k.Sync(); err != nil {
		t.Fatal(err)
	}
}

// rawTCPSegment is a valid segment of the script's connection (seq and
// ack relative, as a script writes them) with n bytes of data.
func rawTCPSegment(r *Runner, seq, ack uint32, flags uint8, opts []byte, n int) []byte {
	c := &r.conn
	b := make([]byte, header.TCPMinSize+len(opts)+n)
	header.TCP(b).Encode(header.TCPFields{SrcPort: c.remotePort, DstPort: c.localPort, Seq: seq + RemoteISN,
		Ack: ack + c.localISN, Flags: flags, Window: 512, Options: opts}, RemoteAddr, LocalAddr)
	return b
}

func mibOf(t *testing.T, r *Runner, m stack.Mib) uint64 {
	t.Helper()
	v, err := r.Kernel().Mib(m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTruncatedTcpHeaderNotInErrs: tcp_v4_rcv counts InSegs, then a
// segment shorter than a TCP header fails pskb_may_pull(skb, 20) and goes
// to discard_it, which counts nothing more: not InErrs (only doff < 5
// goes to bad_packet).
func TestTruncatedTcpHeaderNotInErrs(t *testing.T) {
	r, err := runScript(t, accepted)
	if err != nil {
		t.Fatal(err)
	}
	before := mibOf(t, r, stack.TCP_MIB_INERRS)
	injectTCP(t, r, rawTCPSegment(r, 1, 1, header.TCP_FLAG_ACK, nil, 0)[:12])
	if got := mibOf(t, r, stack.TCP_MIB_INERRS); got != before {
		t.Errorf("InErrs went from %d to %d for a 12-byte TCP segment; 6.12 drops it at discard_it without counting", before, got)
	}
}

// TestDoffBeyondSegmentNotInErrs: th->doff * 4 larger than the
// segment fails the second pskb_may_pull and goes to discard_it: no InErrs.
func TestDoffBeyondSegmentNotInErrs(t *testing.T) {
	r, err := runScript(t, accepted)
	if err != nil {
		t.Fatal(err)
	}
	before := mibOf(t, r, stack.TCP_MIB_INERRS)
	seg := rawTCPSegment(r, 1, 1, header.TCP_FLAG_ACK, nil, 8)
	seg[12] = 15 << 4 // doff 60 bytes, segment 28
	injectTCP(t, r, seg)
	if got := mibOf(t, r, stack.TCP_MIB_INERRS); got != before {
		t.Errorf("InErrs went from %d to %d for doff 60 in a 28-byte segment; 6.12 drops it at discard_it without counting", before, got)
	}
}

// TestSimOpenWscaleSysctlOff: with tcp_window_scaling=0,
// tcp_parse_options ignores the crossing SYN's window scale (it is read
// only when sysctl_tcp_window_scaling is on), so snd_wscale stays 0 and
// the window of the ACK that completes the simultaneous open is taken
// unscaled.
func TestSimOpenWscaleSysctlOff(t *testing.T) {
	_, err := runScript(t, "`sysctl -q net.ipv4.tcp_window_scaling=0`\n"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < S 0:0(0) win 1000 <mss 1000,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
 +.01 < . 1:1(0) ack 1 win 1000
   +0 %{ assert tcpi_state == 1, tcpi_state }%
   +0 %{ assert tcpi_snd_wscale == 0, tcpi_snd_wscale }%
   +0 %{ assert tcpi_snd_wnd == 1000, tcpi_snd_wnd }%
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestSimOpenSackSysctlOff: likewise tcp_sack=0 means the crossing
// SYN's sackOK is not read (sack_ok stays 0): no SACK in TCP_INFO options.
func TestSimOpenSackSysctlOff(t *testing.T) {
	_, err := runScript(t, "`sysctl -q net.ipv4.tcp_sack=0`\n"+`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <...>
 +.01 < S 0:0(0) win 1000 <mss 1000,sackOK,nop,nop>
   +0 > S. 0:0(0) ack 1 <...>
 +.01 < . 1:1(0) ack 1 win 1000
   +0 %{ assert tcpi_state == 1, tcpi_state }%
   +0 %{ assert tcpi_options == 0, tcpi_options }%
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestPassiveOpenDelivered: tcp_rcv_state_process counts the
// SYN-ACK as delivered when the final ACK moves the child from SYN_RECV
// (tp->delivered++), so tcpi_delivered is 1 after accept.
func TestPassiveOpenDelivered(t *testing.T) {
	_, err := runScript(t, accepted+`   +0 %{ assert tcpi_delivered == 1, tcpi_delivered }%
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestSegmentWithoutTsKeepsTsecr: on a timestamp connection a
// segment with options but no timestamp leaves rcv_tsecr as it was
// (tcp_parse_options only clears saw_tstamp; tcp_fast_parse_options
// subtracts tsoffset only when saw_tstamp && rcv_tsecr). A later segment
// echoing the same ecr is then no new sample for tcp_rcv_rtt_measure_ts
// (rcv_tsecr == rcv_rtt_last_tsecr): tcpi_rcv_rtt stays 150 ms.
func TestSegmentWithoutTsKeepsTsecr(t *testing.T) {
	_, err := runScript(t, tsRcvRttSampled+`  +.1 < . 1001:2001(1000) ack 1 win 514 <nop,nop,nop,nop>
  +.1 < . 2001:3001(1000) ack 1 win 514 <nop,nop,TS val 500 ecr 150>
   +0 %{ assert tcpi_rcv_rtt == 150000, tcpi_rcv_rtt }%
`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestTimeWaitRstPawsMslInSeconds: tcp_paws_reject lets an RST with
// an old timestamp through once !time_before32(ktime_get_seconds(),
// ts_recent_stamp + TCP_PAWS_MSL), both in whole seconds. ts_recent was
// stored at t=0.3 s (second 0); the RST at t=60.1 s is in second 60, so
// 6.12 takes it (the TIME_WAIT sock is killed, no PAWSEstabRejected).
func TestTimeWaitRstPawsMslInSeconds(t *testing.T) {
	r, err := runScript(t, tsServer+`  +.1 close(4) = 0
   +0 > F. 1:1(0) ack 1 <nop,nop,TS val 300 ecr 200>
  +.1 < F. 1:1(0) ack 2 win 514 <nop,nop,TS val 300 ecr 300>
   +0 > . 2:2(0) ack 2 <nop,nop,TS val 400 ecr 300>
+59.8 < R 2:2(0) win 0 <nop,nop,TS val 250 ecr 0>
`)
	if err != nil {
		t.Fatal(err)
	}
	mibIs(t, r, stack.LINUX_MIB_PAWSESTABREJECTED, 0)
}

// TestBadChecksumLongSegmentCountsSegsIn: a segment longer than
// CHECKSUM_BREAK (76 bytes) with CHECKSUM_NONE is not verified by
// skb_checksum_init in tcp_v4_rcv; it is looked up, counted by
// tcp_segs_in, and only tcp_rcv_established's tcp_checksum_complete
// drops it (TCP_MIB_CSUMERRORS, TCP_MIB_INERRS).
func TestBadChecksumLongSegmentCountsSegsIn(t *testing.T) {
	r, err := runScript(t, accepted)
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.p.TCPInfo(int(r.lastFd))
	if err != nil {
		t.Fatal(err)
	}
	segsIn, dataSegsIn := info.TcpiSegsIn, info.TcpiDataSegsIn
	seg := rawTCPSegment(r, 1, 1, header.TCP_FLAG_ACK|header.TCP_FLAG_PSH, nil, 100)
	seg[16] ^= 0xff // break the checksum
	injectTCP(t, r, seg)
	if got := mibOf(t, r, stack.TCP_MIB_CSUMERRORS); got != 1 {
		t.Errorf("CsumErrors = %d, want 1", got)
	}
	info, err = r.p.TCPInfo(int(r.lastFd))
	if err != nil {
		t.Fatal(err)
	}
	if info.TcpiSegsIn != segsIn+1 || info.TcpiDataSegsIn != dataSegsIn+1 {
		t.Errorf("tcpi_segs_in %d -> %d, tcpi_data_segs_in %d -> %d; 6.12 counts the 120-byte segment (tcp_segs_in) before its checksum is checked",
			segsIn, info.TcpiSegsIn, dataSegsIn, info.TcpiDataSegsIn)
	}
}

// tsServer: a listener's connection whose peer has SACK and timestamps
// (TS val 100 is the kernel clock's 0), 100 ms round trip, mss 1000.
const tsServer = `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 100,nop,wscale 7>
  +.1 < . 1:1(0) ack 1 win 514 <nop,nop,TS val 200 ecr 100>
   +0 accept(3, ..., ...) = 4
`

// tsRcvRttSampled is tsServer after a first data segment whose echoed
// timestamp gives the receiver a 150 ms RTT sample.
const tsRcvRttSampled = tsServer + `  +.1 < . 1:1001(1000) ack 1 win 514 <nop,nop,TS val 300 ecr 150>
   +0 > . 1:1(0) ack 1001 <nop,nop,TS val 300 ecr 300>
   +0 %{ assert tcpi_rcv_rtt == 150000, tcpi_rcv_rtt }%
`
