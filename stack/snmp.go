package stack

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Mib is one SNMP counter of /proc/net/snmp or /proc/net/netstat.
type Mib uint16

// The counters the model keeps, in the order /proc/net/snmp and
// /proc/net/netstat print them within each group.
const (
	IPSTATS_MIB_INRECEIVES Mib = iota
	IPSTATS_MIB_INHDRERRORS
	IPSTATS_MIB_INADDRERRORS
	IPSTATS_MIB_INUNKNOWNPROTOS
	IPSTATS_MIB_INDISCARDS
	IPSTATS_MIB_INDELIVERS
	IPSTATS_MIB_OUTREQUESTS
	IPSTATS_MIB_OUTDISCARDS
	IPSTATS_MIB_OUTNOROUTES
	IPSTATS_MIB_REASMTIMEOUT
	IPSTATS_MIB_REASMREQDS
	IPSTATS_MIB_REASMOKS
	IPSTATS_MIB_REASMFAILS
	IPSTATS_MIB_FRAGOKS
	IPSTATS_MIB_FRAGFAILS
	IPSTATS_MIB_FRAGCREATES
	IPSTATS_MIB_OUTPKTS
	IPSTATS_MIB_INTRUNCATEDPKTS
	IPSTATS_MIB_CSUMERRORS
	IPSTATS_MIB_INBCASTPKTS
	IPSTATS_MIB_REASMOVERLAPS
	ICMP_MIB_INMSGS
	ICMP_MIB_INERRORS
	ICMP_MIB_CSUMERRORS
	ICMP_MIB_INDESTUNREACHS
	ICMP_MIB_INTIMEEXCDS
	ICMP_MIB_INPARMPROBS
	ICMP_MIB_INSRCQUENCHS
	ICMP_MIB_INECHOS
	ICMP_MIB_INECHOREPS
	ICMP_MIB_OUTMSGS
	ICMP_MIB_OUTERRORS
	ICMP_MIB_RATELIMITGLOBAL
	ICMP_MIB_RATELIMITHOST
	ICMP_MIB_OUTDESTUNREACHS
	ICMP_MIB_OUTECHOS
	ICMP_MIB_OUTECHOREPS
	ICMP_MIB_INREDIRECTS
	ICMP_MIB_INTIMESTAMPS
	ICMP_MIB_INTIMESTAMPREPS
	ICMP_MIB_INADDRMASKS
	ICMP_MIB_INADDRMASKREPS
	ICMP_MIB_OUTTIMEEXCDS
	ICMP_MIB_OUTTIMESTAMPREPS
	UDP_MIB_INDATAGRAMS
	UDP_MIB_NOPORTS
	UDP_MIB_INERRORS
	UDP_MIB_OUTDATAGRAMS
	UDP_MIB_RCVBUFERRORS
	UDP_MIB_SNDBUFERRORS
	UDP_MIB_CSUMERRORS
	UDP_MIB_IGNOREDMULTI
	TCP_MIB_ACTIVEOPENS
	TCP_MIB_PASSIVEOPENS
	TCP_MIB_ATTEMPTFAILS
	TCP_MIB_ESTABRESETS
	TCP_MIB_CURRESTAB
	TCP_MIB_INSEGS
	TCP_MIB_OUTSEGS
	TCP_MIB_RETRANSSEGS
	TCP_MIB_INERRS
	TCP_MIB_OUTRSTS
	TCP_MIB_CSUMERRORS
	LINUX_MIB_LISTENOVERFLOWS
	LINUX_MIB_LISTENDROPS
	LINUX_MIB_SYNCOOKIESSENT
	LINUX_MIB_SYNCOOKIESRECV
	LINUX_MIB_SYNCOOKIESFAILED
	LINUX_MIB_EMBRYONICRSTS
	LINUX_MIB_TCPTIMEOUTS
	LINUX_MIB_TCPBACKLOGDROP
	LINUX_MIB_TCPREQQFULLDOCOOKIES
	LINUX_MIB_TCPREQQFULLDROP
	LINUX_MIB_TCPOFODROP
	LINUX_MIB_TCPRCVQDROP
	LINUX_MIB_TCPABORTONDATA
	LINUX_MIB_TCPABORTONCLOSE
	LINUX_MIB_TCPABORTONTIMEOUT
	LINUX_MIB_TCPOFOQUEUE
	LINUX_MIB_TCPOFOMERGE
	LINUX_MIB_DELAYEDACKLOST
	LINUX_MIB_TIMEWAITED
	LINUX_MIB_TCPTIMEWAITOVERFLOW
	LINUX_MIB_TCPACKSKIPPEDTIMEWAIT
	LINUX_MIB_DELAYEDACKS
	LINUX_MIB_DELAYEDACKLOCKED
	LINUX_MIB_TCPRENORECOVERY
	LINUX_MIB_TCPSACKRECOVERY
	LINUX_MIB_TCPFASTRETRANS
	LINUX_MIB_TCPLOSSPROBES
	LINUX_MIB_TCPHYSTARTTRAINDETECT
	LINUX_MIB_TCPHYSTARTDELAYDETECT
	LINUX_MIB_OFOPRUNED
	LINUX_MIB_TCPKEEPALIVE
	LINUX_MIB_TCPSLOWSTARTRETRANS
	LINUX_MIB_TCPLOSTRETRANSMIT
	LINUX_MIB_TCPDSACKRECV
	LINUX_MIB_TCPDSACKOFORECV
	LINUX_MIB_TCPDSACKRECVSEGS
	LINUX_MIB_TCPDSACKIGNOREDDUBIOUS
	LINUX_MIB_TCPSACKREORDER
	LINUX_MIB_TCPTSREORDER
	LINUX_MIB_TCPRENOREORDER
	LINUX_MIB_TCPSACKRENEGING
	LINUX_MIB_TCPLOSSPROBERECOVERY
	LINUX_MIB_TCPSPURIOUSRTOS
	LINUX_MIB_TCPSACKRECOVERYFAIL
	LINUX_MIB_TCPRENORECOVERYFAIL
	LINUX_MIB_TCPLOSSFAILURES
	LINUX_MIB_TCPDSACKOLDSENT
	LINUX_MIB_TCPDSACKOFOSENT
	LINUX_MIB_PAWSESTABREJECTED
	LINUX_MIB_TCPACKSKIPPEDPAWS
	LINUX_MIB_TCPACKSKIPPEDSEQ
	LINUX_MIB_TCPACKSKIPPEDCHALLENGE
	LINUX_MIB_TCPCHALLENGEACK
	LINUX_MIB_TCPSYNCHALLENGE
	LINUX_MIB_TCPFULLUNDO
	LINUX_MIB_TCPPARTIALUNDO
	LINUX_MIB_TCPDSACKUNDO
	LINUX_MIB_TCPLOSSUNDO
	LINUX_MIB_TCPAUTOCORKING
	LINUX_MIB_TCPSPURIOUSRTXHOSTQUEUES
	LINUX_MIB_TCPACKCOMPRESSED
	LINUX_MIB_TCPZEROWINDOWDROP
	LINUX_MIB_TCPWANTZEROWINDOWADV
	LINUX_MIB_TCPTOZEROWINDOWADV
	LINUX_MIB_TCPFROMZEROWINDOWADV
	LINUX_MIB_OUTOFWINDOWICMPS
	LINUX_MIB_LOCKDROPPEDICMPS
	LINUX_MIB_PRUNECALLED
	LINUX_MIB_RCVPRUNED
	LINUX_MIB_TCPRCVCOLLAPSED
	LINUX_MIB_TCPWINPROBE
	LINUX_MIB_TCPACKSKIPPEDFINWAIT2
	LINUX_MIB_TIMEWAITKILLED
	LINUX_MIB_TCPABORTONLINGER
	LINUX_MIB_TCPACKSKIPPEDSYNRECV
	LINUX_MIB_TCPSYNRETRANS
	LINUX_MIB_PAWSACTIVEREJECTED
	LINUX_MIB_TCPSACKFAILURES
	LINUX_MIB_TCPRENOFAILURES
	LINUX_MIB_TIMEWAITRECYCLED
	LINUX_MIB_TCPRCVCOALESCE
	LINUX_MIB_TCPDEFERACCEPTDROP
	LINUX_MIB_TCPDSACKIGNOREDNOUNDO
	LINUX_MIB_TCPDSACKIGNOREDOLD
	LINUX_MIB_TCPSACKDISCARD
	LINUX_MIB_TCPHYSTARTTRAINCWND
	LINUX_MIB_TCPHYSTARTDELAYCWND
	numMibs
)

// mibNames are the group and the name /proc prints for each counter.
var mibNames = [numMibs][2]string{
	{"Ip", "InReceives"}, {"Ip", "InHdrErrors"}, {"Ip", "InAddrErrors"}, {"Ip", "InUnknownProtos"},
	{"Ip", "InDiscards"}, {"Ip", "InDelivers"}, {"Ip", "OutRequests"}, {"Ip", "OutDiscards"},
	{"Ip", "OutNoRoutes"}, {"Ip", "ReasmTimeout"}, {"Ip", "ReasmReqds"}, {"Ip", "ReasmOKs"},
	{"Ip", "ReasmFails"}, {"Ip", "FragOKs"}, {"Ip", "FragFails"}, {"Ip", "FragCreates"},
	{"Ip", "OutTransmits"}, {"IpExt", "InTruncatedPkts"}, {"IpExt", "InCsumErrors"}, {"IpExt", "InBcastPkts"}, {"IpExt", "ReasmOverlaps"},
	{"Icmp", "InMsgs"}, {"Icmp", "InErrors"}, {"Icmp", "InCsumErrors"}, {"Icmp", "InDestUnreachs"}, {"Icmp", "InTimeExcds"}, {"Icmp", "InParmProbs"}, {"Icmp", "InSrcQuenchs"},
	{"Icmp", "InEchos"}, {"Icmp", "InEchoReps"}, {"Icmp", "OutMsgs"}, {"Icmp", "OutErrors"},
	{"Icmp", "OutRateLimitGlobal"}, {"Icmp", "OutRateLimitHost"}, {"Icmp", "OutDestUnreachs"},
	{"Icmp", "OutEchos"}, {"Icmp", "OutEchoReps"},
	{"Icmp", "InRedirects"}, {"Icmp", "InTimestamps"}, {"Icmp", "InTimestampReps"}, {"Icmp", "InAddrMasks"},
	{"Icmp", "InAddrMaskReps"}, {"Icmp", "OutTimeExcds"}, {"Icmp", "OutTimestampReps"},
	{"Udp", "InDatagrams"}, {"Udp", "NoPorts"}, {"Udp", "InErrors"}, {"Udp", "OutDatagrams"},
	{"Udp", "RcvbufErrors"}, {"Udp", "SndbufErrors"}, {"Udp", "InCsumErrors"}, {"Udp", "IgnoredMulti"},
	{"Tcp", "ActiveOpens"}, {"Tcp", "PassiveOpens"}, {"Tcp", "AttemptFails"}, {"Tcp", "EstabResets"},
	{"Tcp", "CurrEstab"}, {"Tcp", "InSegs"}, {"Tcp", "OutSegs"}, {"Tcp", "RetransSegs"},
	{"Tcp", "InErrs"}, {"Tcp", "OutRsts"}, {"Tcp", "InCsumErrors"},
	{"TcpExt", "ListenOverflows"}, {"TcpExt", "ListenDrops"}, {"TcpExt", "SyncookiesSent"},
	{"TcpExt", "SyncookiesRecv"}, {"TcpExt", "SyncookiesFailed"}, {"TcpExt", "EmbryonicRsts"},
	{"TcpExt", "TCPTimeouts"}, {"TcpExt", "TCPBacklogDrop"}, {"TcpExt", "TCPReqQFullDoCookies"},
	{"TcpExt", "TCPReqQFullDrop"}, {"TcpExt", "TCPOFODrop"}, {"TcpExt", "TCPRcvQDrop"},
	{"TcpExt", "TCPAbortOnData"}, {"TcpExt", "TCPAbortOnClose"}, {"TcpExt", "TCPAbortOnTimeout"},
	{"TcpExt", "TCPOFOQueue"}, {"TcpExt", "TCPOFOMerge"}, {"TcpExt", "DelayedACKLost"},
	{"TcpExt", "TW"}, {"TcpExt", "TCPTimeWaitOverflow"}, {"TcpExt", "TCPACKSkippedTimeWait"},
	{"TcpExt", "DelayedACKs"}, {"TcpExt", "DelayedACKLocked"},
	{"TcpExt", "TCPRenoRecovery"}, {"TcpExt", "TCPSackRecovery"}, {"TcpExt", "TCPFastRetrans"}, {"TcpExt", "TCPLossProbes"}, {"TcpExt", "TCPHystartTrainDetect"}, {"TcpExt", "TCPHystartDelayDetect"}, {"TcpExt", "OfoPruned"}, {"TcpExt", "TCPKeepAlive"},
	{"TcpExt", "TCPSlowStartRetrans"}, {"TcpExt", "TCPLostRetransmit"}, {"TcpExt", "TCPDSACKRecv"}, {"TcpExt", "TCPDSACKOfoRecv"}, {"TcpExt", "TCPDSACKRecvSegs"}, {"TcpExt", "TCPDSACKIgnoredDubious"}, {"TcpExt", "TCPSACKReorder"}, {"TcpExt", "TCPTSReorder"}, {"TcpExt", "TCPRenoReorder"}, {"TcpExt", "TCPSACKReneging"}, {"TcpExt", "TCPLossProbeRecovery"}, {"TcpExt", "TCPSpuriousRTOs"}, {"TcpExt", "TCPSackRecoveryFail"}, {"TcpExt", "TCPRenoRecoveryFail"}, {"TcpExt", "TCPLossFailures"}, {"TcpExt", "TCPDSACKOldSent"}, {"TcpExt", "TCPDSACKOfoSent"},
	{"TcpExt", "PAWSEstab"}, {"TcpExt", "TCPACKSkippedPAWS"}, {"TcpExt", "TCPACKSkippedSeq"}, {"TcpExt", "TCPACKSkippedChallenge"}, {"TcpExt", "TCPChallengeACK"}, {"TcpExt", "TCPSYNChallenge"},
	{"TcpExt", "TCPFullUndo"}, {"TcpExt", "TCPPartialUndo"}, {"TcpExt", "TCPDSACKUndo"}, {"TcpExt", "TCPLossUndo"},
	{"TcpExt", "TCPAutoCorking"}, {"TcpExt", "TCPSpuriousRtxHostQueues"}, {"TcpExt", "TCPAckCompressed"},
	{"TcpExt", "TCPZeroWindowDrop"}, {"TcpExt", "TCPWantZeroWindowAdv"}, {"TcpExt", "TCPToZeroWindowAdv"},
	{"TcpExt", "TCPFromZeroWindowAdv"}, {"TcpExt", "OutOfWindowIcmps"}, {"TcpExt", "LockDroppedIcmps"},
	{"TcpExt", "PruneCalled"}, {"TcpExt", "RcvPruned"}, {"TcpExt", "TCPRcvCollapsed"}, {"TcpExt", "TCPWinProbe"},
	{"TcpExt", "TCPACKSkippedFinWait2"}, {"TcpExt", "TWKilled"},
	{"TcpExt", "TCPAbortOnLinger"}, {"TcpExt", "TCPACKSkippedSynRecv"}, {"TcpExt", "TCPSynRetrans"},
	{"TcpExt", "PAWSActive"}, {"TcpExt", "TCPSackFailures"}, {"TcpExt", "TCPRenoFailures"},
	{"TcpExt", "TWRecycled"}, {"TcpExt", "TCPRcvCoalesce"}, {"TcpExt", "TCPDeferAcceptDrop"},
	{"TcpExt", "TCPDSACKIgnoredNoUndo"}, {"TcpExt", "TCPDSACKIgnoredOld"}, {"TcpExt", "TCPSACKDiscard"},
	{"TcpExt", "TCPHystartTrainCwnd"}, {"TcpExt", "TCPHystartDelayCwnd"},
}

// String returns "Group.Name", e.g. "Ip.InHdrErrors".
func (m Mib) String() string {
	if m < numMibs {
		return mibNames[m][0] + "." + mibNames[m][1]
	}
	return fmt.Sprintf("mib(%d)", uint16(m))
}

// snmp holds net->mib: the counters of one namespace.
type snmp struct {
	v [numMibs]uint64
}

// inc is SNMP_INC_STATS and friends.
func (s *snmp) inc(m Mib)           { s.v[m]++ }
func (s *snmp) add(m Mib, n uint64) { s.v[m] += n }
func (s *snmp) dec(m Mib)           { s.v[m]-- }

// Get returns a counter's value.
func (s *snmp) Get(m Mib) uint64 { return s.v[m] }

// WriteProc writes the counters as /proc/net/snmp and /proc/net/netstat
// do: for each group a line of names and a line of values.
func (s *snmp) WriteProc(w io.Writer) error {
	var b strings.Builder
	for start := Mib(0); start < numMibs; {
		group := mibNames[start][0]
		end := start
		for end < numMibs && mibNames[end][0] == group {
			end++
		}
		var names, vals []string
		for _, m := range procMibOrder(start, end) {
			names = append(names, mibNames[m][1])
			vals = append(vals, fmt.Sprint(s.v[m]))
		}
		fmt.Fprintf(&b, "%s: %s\n%s: %s\n", group, strings.Join(names, " "), group, strings.Join(vals, " "))
		start = end
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Mib reads a counter through the loop.
func (k *Kernel) Mib(m Mib) (uint64, error) {
	return control(k, "mib", true, func(k *Kernel) (uint64, error) { return k.mib.Get(m), nil })
}

// WriteSnmp writes the counters as /proc/net/snmp would.
func (k *Kernel) WriteSnmp(w io.Writer) error {
	_, err := control(k, "snmp", true, func(k *Kernel) (struct{}, error) { return struct{}{}, k.mib.WriteProc(w) })
	return err
}

// procMibOrder lists the Mibs start..end-1 (one group) in the order /proc
// prints them: procOrder's, where the group has one.
func procMibOrder(start, end Mib) []Mib {
	ms := make([]Mib, 0, end-start)
	for m := start; m < end; m++ {
		ms = append(ms, m)
	}
	order, ok := procOrder[mibNames[start][0]]
	if !ok {
		return ms
	}
	rank := func(m Mib) int {
		if i := slices.Index(order, mibNames[m][1]); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(ms, func(a, b Mib) int { return rank(a) - rank(b) })
	return ms
}

// procOrder is the order /proc/net/snmp and /proc/net/netstat print a
// group's counters in, where it differs from the order of the Mib
// constants (groups not listed print in Mib order).
var procOrder = map[string][]string{
	"IpExt": {
		"InTruncatedPkts", "InBcastPkts", "InCsumErrors", "ReasmOverlaps",
	},
	"Icmp": {
		"InMsgs", "InErrors", "InCsumErrors", "InDestUnreachs", "InTimeExcds", "InParmProbs", "InSrcQuenchs",
		"InRedirects", "InEchos", "InEchoReps", "InTimestamps", "InTimestampReps", "InAddrMasks", "InAddrMaskReps",
		"OutMsgs", "OutErrors", "OutRateLimitGlobal", "OutRateLimitHost", "OutDestUnreachs", "OutTimeExcds",
		"OutEchos", "OutEchoReps", "OutTimestampReps",
	},
	"TcpExt": {
		"SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "EmbryonicRsts", "PruneCalled", "RcvPruned",
		"OfoPruned", "OutOfWindowIcmps", "LockDroppedIcmps", "TW", "TWRecycled", "TWKilled", "PAWSActive",
		"PAWSEstab", "DelayedACKs", "DelayedACKLocked", "DelayedACKLost", "ListenOverflows", "ListenDrops",
		"TCPRenoRecovery", "TCPSackRecovery", "TCPSACKReneging", "TCPSACKReorder", "TCPRenoReorder",
		"TCPTSReorder", "TCPFullUndo", "TCPPartialUndo", "TCPDSACKUndo", "TCPLossUndo", "TCPLostRetransmit",
		"TCPRenoFailures", "TCPSackFailures", "TCPLossFailures", "TCPFastRetrans", "TCPSlowStartRetrans",
		"TCPTimeouts", "TCPLossProbes", "TCPLossProbeRecovery", "TCPRenoRecoveryFail", "TCPSackRecoveryFail",
		"TCPRcvCollapsed", "TCPDSACKOldSent", "TCPDSACKOfoSent", "TCPDSACKRecv", "TCPDSACKOfoRecv",
		"TCPAbortOnData", "TCPAbortOnClose", "TCPAbortOnTimeout", "TCPAbortOnLinger", "TCPSACKDiscard",
		"TCPDSACKIgnoredOld", "TCPDSACKIgnoredNoUndo", "TCPSpuriousRTOs", "TCPBacklogDrop", "TCPDeferAcceptDrop",
		"TCPTimeWaitOverflow", "TCPReqQFullDoCookies", "TCPReqQFullDrop", "TCPRcvCoalesce", "TCPOFOQueue",
		"TCPOFODrop", "TCPOFOMerge", "TCPChallengeACK", "TCPSYNChallenge", "TCPSpuriousRtxHostQueues",
		"TCPAutoCorking", "TCPFromZeroWindowAdv", "TCPToZeroWindowAdv", "TCPWantZeroWindowAdv", "TCPSynRetrans",
		"TCPHystartTrainDetect", "TCPHystartTrainCwnd", "TCPHystartDelayDetect", "TCPHystartDelayCwnd",
		"TCPACKSkippedSynRecv", "TCPACKSkippedPAWS",
		"TCPACKSkippedSeq", "TCPACKSkippedFinWait2", "TCPACKSkippedTimeWait", "TCPACKSkippedChallenge",
		"TCPWinProbe", "TCPKeepAlive", "TCPAckCompressed", "TCPZeroWindowDrop", "TCPRcvQDrop", "TCPDSACKRecvSegs",
		"TCPDSACKIgnoredDubious",
	},
}
