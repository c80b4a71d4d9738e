package stack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/sockets"
)

// SnapshotVersion is the version of the snapshot's JSON encoding
// (docs/snapshot.md). It changes only when a key changes meaning or goes.
const SnapshotVersion = 1

// Snapshot is an immutable copy of the kernel's state at one moment: what
// the UI, the exporters and --snapshot files read. Keys are the kernel's
// names for the fields. Addresses are hexadecimal strings.
type Snapshot struct {
	Version   int               `json:"version"`
	TimeNs    int64             `json:"time_ns"`
	Seed      uint64            `json:"seed"`
	EventSeq  uint64            `json:"event_seq"`
	Processes []ProcessSnap     `json:"processes"`
	Socks     []SockSnap        `json:"socks"`
	Timewait  []TwSnap          `json:"timewait"`
	Hashinfo  HashinfoSnap      `json:"inet_hashinfo"`
	Slabinfo  []slab.CacheStats `json:"slabinfo"`
	Sysctls   map[string]string `json:"sysctls"`
	Devices   []DeviceSnap      `json:"devices"`
	Timers    []TimerSnap       `json:"timers"`
	Paused    *StopSnap         `json:"paused,omitempty"`
}

// ProcessSnap is a process and its open file descriptors.
type ProcessSnap struct {
	Pid  uint32   `json:"pid"`
	Comm string   `json:"comm"`
	Fds  []FdSnap `json:"fds"`
	// Sleeping lists the tids of the process's tasks asleep in a syscall.
	Sleeping []uint32 `json:"sleeping,omitempty"`
}

// FdSnap is one descriptor: its struct file and, for a socket, the socket.
type FdSnap struct {
	Fd      int    `json:"fd"`
	File    string `json:"file"`
	FOp     string `json:"f_op"`
	FFlags  int    `json:"f_flags"`
	Cloexec bool   `json:"close_on_exec"`
	Socket  string `json:"socket,omitempty"`
	Sk      string `json:"sk,omitempty"`
}

// SocketSnap is struct socket.
type SocketSnap struct {
	Addr  string `json:"addr"`
	State string `json:"state"`
	Type  int    `json:"type"`
	Ino   uint64 `json:"ino"`
	Ops   string `json:"ops"`
	File  string `json:"file,omitempty"`
	// Waiters is how many tasks sleep on the socket's wait queue.
	Waiters int `json:"wq_waiters"`
}

// SockCommonSnap is struct sock_common.
type SockCommonSnap struct {
	SkcFamily     uint16 `json:"skc_family"`
	SkcState      string `json:"skc_state"`
	SkcReuse      uint8  `json:"skc_reuse"`
	SkcReuseport  bool   `json:"skc_reuseport"`
	SkcBoundDevIf int32  `json:"skc_bound_dev_if"`
	SkcHash       uint32 `json:"skc_hash"`
	SkcNum        uint16 `json:"skc_num"`
	SkcDport      uint16 `json:"skc_dport"` // in host order for reading
	SkcRcvSaddr   string `json:"skc_rcv_saddr"`
	SkcDaddr      string `json:"skc_daddr"`
	SkcRefcnt     int32  `json:"skc_refcnt"`
	// SkcNode says which chain skc_node/skc_nulls_node is on:
	// "lhash2[195]", "ehash[17]", or "" when unhashed.
	SkcNode string `json:"skc_node"`
	// SkcBindNode names the tcp_bind2_bucket whose owners list holds it.
	SkcBindNode string `json:"skc_bind_node"`
}

// QueueSnap is an sk_buff_head.
type QueueSnap struct {
	Addr string   `json:"addr"`
	Qlen uint32   `json:"qlen"`
	Skbs []string `json:"skbs"`
	// Sums are the first queueSumCap skbs in brief, in queue order
	// (Sums[i] is Skbs[i]); the rest are listed by address only.
	Sums []SkbSum `json:"skb_sums"`
}

// queueSumCap bounds the per-skb summaries a QueueSnap carries.
const queueSumCap = 256

// SkbSum is one queued skb in brief: skb->len and, in a TCP sock's
// queues, TCP_SKB_CB(skb)->seq and end_seq (absolute, as on the wire).
type SkbSum struct {
	Len    uint32 `json:"len"`
	Seq    uint32 `json:"seq,omitempty"`
	EndSeq uint32 `json:"end_seq,omitempty"`
	// Sacked is TCP_SKB_CB(skb)->sacked on the retransmit queue, as the
	// kernel's flag names joined by "|": SACKED_ACKED, SACKED_RETRANS,
	// LOST, EVER_RETRANS.
	Sacked string `json:"sacked,omitempty"`
}

// SockSnap is a struct sock with its inet, inet_connection_sock and TCP
// parts.
type SockSnap struct {
	Sk              string         `json:"sk"`
	Proto           string         `json:"sk_prot"`
	Cache           string         `json:"slab_cache"`
	SockCommon      SockCommonSnap `json:"sock_common"`
	Socket          *SocketSnap    `json:"sk_socket,omitempty"`
	SkType          uint16         `json:"sk_type"`
	SkProtocol      uint16         `json:"sk_protocol"`
	SkFlags         []string       `json:"sk_flags"`
	SkShutdown      uint8          `json:"sk_shutdown"`
	SkUserlocks     uint8          `json:"sk_userlocks"`
	SkRcvbuf        int32          `json:"sk_rcvbuf"`
	SkSndbuf        int32          `json:"sk_sndbuf"`
	SkRmemAlloc     int32          `json:"sk_rmem_alloc"`
	SkWmemAlloc     int32          `json:"sk_wmem_alloc"`
	SkWmemQueued    int32          `json:"sk_wmem_queued"`
	SkDrops         uint32         `json:"sk_drops"`
	SkForwardAlloc  int32          `json:"sk_forward_alloc"`
	SkAckBacklog    uint32         `json:"sk_ack_backlog"`
	SkMaxAckBacklog uint32         `json:"sk_max_ack_backlog"`
	SkRcvtimeoNs    int64          `json:"sk_rcvtimeo_ns"`
	SkLingertimeNs  int64          `json:"sk_lingertime_ns"`
	SkErr           int32          `json:"sk_err"`
	SkLockOwned     bool           `json:"sk_lock_owned"`
	SkReceiveQueue  QueueSnap      `json:"sk_receive_queue"`
	SkWriteQueue    QueueSnap      `json:"sk_write_queue"`
	SkBacklogLen    int            `json:"sk_backlog_len"`
	InetSaddr       string         `json:"inet_saddr"`
	InetSport       uint16         `json:"inet_sport"`
	UcTtl           int16          `json:"uc_ttl"`
	Icsk            *IcskSnap      `json:"inet_connection_sock,omitempty"`
	Tcp             *TcpSnap       `json:"tcp_sock,omitempty"`
}

// IcskSnap is struct inet_connection_sock's visible part.
type IcskSnap struct {
	AcceptQueue   AcceptQueueSnap `json:"icsk_accept_queue"`
	IcskBindHash  string          `json:"icsk_bind_hash"`
	IcskBind2Hash string          `json:"icsk_bind2_hash"`
	IcskAfOps     string          `json:"icsk_af_ops"`
	IcskRtoNs     int64           `json:"icsk_rto_ns"`
}

// AcceptQueueSnap is struct request_sock_queue: the SYN queue's counters
// and the accept queue's entries.
type AcceptQueueSnap struct {
	Qlen        uint32        `json:"qlen"`
	Young       uint32        `json:"young"`
	AcceptQueue []ReqSockSnap `json:"rskq_accept_queue"`
	// SynQueue are the listener's request socks waiting in ehash for the
	// final ACK (the "SYN queue" is only a count in the kernel; these
	// are the NEW_SYN_RECV entries that make it up).
	SynQueue []ReqSockSnap `json:"syn_queue"`
}

// ReqSockSnap is a request sock.
type ReqSockSnap struct {
	Req        string `json:"req"`
	State      string `json:"skc_state"`
	Child      string `json:"sk"`
	Peer       string `json:"peer"`
	NumRetrans uint8  `json:"num_retrans"`
	NumTimeout uint8  `json:"num_timeout"`
	Acked      bool   `json:"acked"`
	SkcNode    string `json:"skc_node,omitempty"`
	// ExpiresNs is when rsk_timer (the SYN-ACK retransmit) fires next.
	ExpiresNs int64 `json:"rsk_timer_expires_ns,omitempty"`
}

// TcpSnap is struct tcp_sock's visible part: sequence space, windows,
// congestion state, RTT, ACK scheduling and the TCP-only queues.
type TcpSnap struct {
	SndUna       uint32    `json:"snd_una"`
	SndNxt       uint32    `json:"snd_nxt"`
	WriteSeq     uint32    `json:"write_seq"`
	SndWl1       uint32    `json:"snd_wl1"`
	SndWnd       uint32    `json:"snd_wnd"`
	RcvNxt       uint32    `json:"rcv_nxt"`
	CopiedSeq    uint32    `json:"copied_seq"`
	RcvWup       uint32    `json:"rcv_wup"`
	RcvWnd       uint32    `json:"rcv_wnd"`
	SndIsn       uint32    `json:"snd_isn"`
	RcvIsn       uint32    `json:"rcv_isn"`
	SndWscale    uint8     `json:"snd_wscale"`
	RcvWscale    uint8     `json:"rcv_wscale"`
	SndCwnd      uint32    `json:"snd_cwnd"`
	SndSsthresh  uint32    `json:"snd_ssthresh"`
	PacketsOut   uint32    `json:"packets_out"`
	RetransOut   uint32    `json:"retrans_out"`
	TotalRetrans uint32    `json:"total_retrans"`
	SrttUs       uint32    `json:"srtt_us"` // smoothed RTT << 3, as the kernel keeps it
	RttvarUs     uint32    `json:"rttvar_us"`
	MssCache     uint32    `json:"mss_cache"`
	AdvMss       uint16    `json:"advmss"`
	RcvMss       uint32    `json:"rcv_mss"`
	Nonagle      uint8     `json:"nonagle"`
	Reordering   uint32    `json:"reordering"`
	CaState      string    `json:"icsk_ca_state"`
	HighSeq      uint32    `json:"high_seq"`
	SackedOut    uint32    `json:"sacked_out"`
	LostOut      uint32    `json:"lost_out"`
	PriorCwnd    uint32    `json:"prior_cwnd"`
	PrrDelivered uint32    `json:"prr_delivered"`
	PrrOut       uint32    `json:"prr_out"`
	RackRttUs    uint32    `json:"rack_rtt_us"`
	ReordSeen    uint32    `json:"reord_seen"`
	Congestion   string    `json:"icsk_ca_ops"`
	AckPending   uint8     `json:"icsk_ack_pending"`
	AckQuick     uint8     `json:"icsk_ack_quick"`
	AckPingpong  uint8     `json:"icsk_ack_pingpong"`
	AckAtoNs     int64     `json:"icsk_ack_ato_ns"`
	RtxQueue     QueueSnap `json:"tcp_rtx_queue"`
	OfoQueue     QueueSnap `json:"out_of_order_queue"`
}

// TwSnap is a timewait sock (struct tcp_timewait_sock): what is left of a
// connection in TIME_WAIT, or of an orphan waiting in FIN_WAIT2.
type TwSnap struct {
	Addr      string `json:"tw"`
	Cache     string `json:"cache"`
	State     string `json:"tw_state"`
	Substate  string `json:"tw_substate"`
	Local     string `json:"local"`
	Peer      string `json:"peer"`
	SkcNode   string `json:"skc_node"`
	RcvNxt    uint32 `json:"tw_rcv_nxt"`
	SndNxt    uint32 `json:"tw_snd_nxt"`
	RcvWnd    uint32 `json:"tw_rcv_wnd"`
	TsRecent  uint32 `json:"tw_ts_recent"`
	ExpiresNs int64  `json:"tw_timer_expires_ns"`
}

// HashinfoSnap is struct inet_hashinfo: sizes and non-empty buckets.
type HashinfoSnap struct {
	EhashSize  int `json:"ehash_size"`
	BhashSize  int `json:"bhash_size"`
	Lhash2Size int `json:"lhash2_size"`
	// EhashSecret is inet_ehash_secret and NetHashMix net_hash_mix(net):
	// the hash functions' salts, so a reader can recompute a bucket.
	EhashSecret uint32       `json:"inet_ehash_secret"`
	NetHashMix  uint32       `json:"net_hash_mix"`
	Ehash       []BucketSnap `json:"ehash"`
	Bhash       []BindSnap   `json:"bhash"`
	Bhash2      []Bind2Snap  `json:"bhash2"`
	Lhash2      []BucketSnap `json:"lhash2"`
}

// BucketSnap is a non-empty ehash or lhash2 bucket and its chain, head
// first (the newest entry is at the head).
type BucketSnap struct {
	Index int         `json:"index"`
	Chain []ChainSnap `json:"chain"`
}

// ChainSnap is one entry of a chain.
type ChainSnap struct {
	Addr  string `json:"sk"`
	State string `json:"skc_state"`
	Local string `json:"local"`
	Peer  string `json:"peer"`
	Hash  uint32 `json:"skc_hash"`
}

// BindSnap is a non-empty bhash bucket: its tcp_bind_buckets.
type BindSnap struct {
	Index   int      `json:"index"`
	Buckets []TbSnap `json:"chain"`
}

// TbSnap is struct inet_bind_bucket.
type TbSnap struct {
	Tb            string   `json:"tb"`
	Port          uint16   `json:"port"`
	Fastreuse     int8     `json:"fastreuse"`
	Fastreuseport int8     `json:"fastreuseport"`
	Bhash2        []string `json:"bhash2"`
}

// Bind2Snap is a non-empty bhash2 bucket.
type Bind2Snap struct {
	Index   int       `json:"index"`
	Buckets []Tb2Snap `json:"chain"`
}

// Tb2Snap is struct inet_bind2_bucket and its owners.
type Tb2Snap struct {
	Tb2      string   `json:"tb2"`
	Port     uint16   `json:"port"`
	RcvSaddr string   `json:"rcv_saddr"`
	Owners   []string `json:"owners"`
}

// DeviceSnap is a network device.
type DeviceSnap struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Ifindex int      `json:"ifindex"`
	MTU     int      `json:"mtu"`
	Flags   []string `json:"flags"`
	// Features are dev->features by ethtool's names.
	Features []string  `json:"features"`
	Addrs    []string  `json:"addrs"`
	Peer     string    `json:"peer,omitempty"`
	Stats    LinkStats `json:"stats64"`
}

// LinkStats is struct rtnl_link_stats64 as ip -s link shows it.
type LinkStats struct {
	RxPackets   uint64 `json:"rx_packets"`
	RxBytes     uint64 `json:"rx_bytes"`
	RxErrors    uint64 `json:"rx_errors"`
	RxDropped   uint64 `json:"rx_dropped"`
	TxPackets   uint64 `json:"tx_packets"`
	TxBytes     uint64 `json:"tx_bytes"`
	TxErrors    uint64 `json:"tx_errors"`
	TxDropped   uint64 `json:"tx_dropped"`
	RxNohandler uint64 `json:"rx_nohandler"`
}

// TimerSnap is a pending timer.
type TimerSnap struct {
	Function  string `json:"function"`
	ExpiresNs int64  `json:"expires_ns"`
}

// StopSnap says where stepping stopped the kernel.
type StopSnap struct {
	Event string `json:"event"`
	Why   string `json:"why"`
}

// Snapshot takes a snapshot on the loop. It works while stepping is
// paused too.
func (k *Kernel) Snapshot() (*Snapshot, error) {
	r, err := k.sendPaused("snapshot", func(k *Kernel) any { return k.snapshot() })
	if err != nil {
		return nil, err
	}
	return r.(*Snapshot), nil
}

// WriteJSON writes the snapshot as indented JSON.
func (s *Snapshot) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

func hexAddr(a slab.Addr) string {
	if a == 0 {
		return ""
	}
	return a.String()
}

func (k *Kernel) snapshot() *Snapshot {
	s := &Snapshot{
		Version:   SnapshotVersion,
		TimeNs:    k.clock.Now(),
		Seed:      k.cfg.Seed,
		EventSeq:  k.tr.Seq(),
		Sysctls:   map[string]string{},
		Processes: []ProcessSnap{},
		Socks:     []SockSnap{},
		Slabinfo:  []slab.CacheStats{},
		Devices:   []DeviceSnap{},
	}
	for _, p := range k.procs {
		ps := ProcessSnap{Pid: p.Pid, Comm: p.Comm, Fds: []FdSnap{}}
		for _, fd := range p.Fdt.Open() {
			f := p.Fdt.Get(fd)
			fs := FdSnap{Fd: fd, File: hexAddr(f.Addr()), FOp: f.FOp, FFlags: f.FFlags, Cloexec: p.Fdt.Cloexec(fd)}
			if sock := f.PrivateData; sock != nil {
				fs.Socket = hexAddr(sock.Addr())
				if sock.Sk != nil {
					fs.Sk = hexAddr(sock.Sk.Addr())
				}
			}
			ps.Fds = append(ps.Fds, fs)
		}
		for _, t := range p.tasks {
			if t.sleeping {
				ps.Sleeping = append(ps.Sleeping, t.tid)
			}
		}
		s.Processes = append(s.Processes, ps)
	}
	chainName := k.chainNames()
	for _, sk := range k.net.Socks() {
		s.Socks = append(s.Socks, k.sockSnap(sk, chainName))
	}
	s.Timewait = []TwSnap{}
	for i := range k.hash.Ehash {
		for _, sc := range k.hash.Ehash[i].Chain() {
			if tw, ok := sc.Owner().(*sockets.InetTimewaitSock); ok {
				s.Timewait = append(s.Timewait, TwSnap{Addr: hexAddr(tw.Addr()), Cache: k.twCache.Name(),
					State: tw.SkcState.String(), Substate: tw.TwSubstate.String(),
					Local: fmt.Sprintf("%s:%d", tw.SkcRcvSaddr, tw.SkcNum), Peer: fmt.Sprintf("%s:%d", tw.SkcDaddr, tw.SkcDport.Ntohs()),
					SkcNode: chainName[sc], RcvNxt: tw.TwRcvNxt, SndNxt: tw.TwSndNxt, RcvWnd: tw.TwRcvWnd,
					TsRecent: tw.TwTsRecent, ExpiresNs: tw.TwKillAt})
			}
		}
	}
	s.Hashinfo = k.hashSnap()
	for _, c := range k.mem.Caches() {
		s.Slabinfo = append(s.Slabinfo, c.Stats())
	}
	for _, kv := range k.net.Sysctl.All() {
		s.Sysctls[kv[0]] = kv[1]
	}
	for _, d := range k.devs {
		st := d.Stats
		ds := DeviceSnap{Name: d.Name, Kind: d.Kind, Ifindex: d.Ifindex, MTU: d.MTU, Flags: d.FlagNames(), Features: d.FeatureNames(),
			Stats: LinkStats{st.RxPackets, st.RxBytes, st.RxErrors, st.RxDropped, st.TxPackets, st.TxBytes, st.TxErrors, st.TxDropped, st.RxNohandler}}
		if d.Peer.IsValid() {
			ds.Peer = d.Peer.String()
		}
		for _, a := range d.Addrs {
			ds.Addrs = append(ds.Addrs, a.String())
		}
		s.Devices = append(s.Devices, ds)
	}
	pending := append([]*Timer(nil), k.timers...)
	slices.SortFunc(pending, func(a, b *Timer) int {
		if a.expires != b.expires {
			return cmp.Compare(a.expires, b.expires)
		}
		return cmp.Compare(a.seq, b.seq)
	})
	s.Timers = []TimerSnap{}
	for _, t := range pending {
		s.Timers = append(s.Timers, TimerSnap{Function: t.Name, ExpiresNs: t.expires})
	}
	if k.paused != nil {
		s.Paused = &StopSnap{Event: k.paused.Event.Format(k), Why: k.paused.Why}
	}
	return s
}

// chainNames maps each hashed sock_common to "ehash[i]" or "lhash2[i]".
func (k *Kernel) chainNames() map[*sockets.SockCommon]string {
	m := map[*sockets.SockCommon]string{}
	h := k.hash
	for i := range h.Ehash {
		for _, sc := range h.Ehash[i].Chain() {
			m[sc] = fmt.Sprintf("ehash[%d]", i)
		}
	}
	for i := range h.Lhash2 {
		for _, sc := range h.Lhash2[i].Chain() {
			m[sc] = fmt.Sprintf("lhash2[%d]", i)
		}
	}
	return m
}

// queueSnap lists a queue's skbs; tcp says its skbs carry TCP_SKB_CB's
// sequence numbers (a TCP sock's queues).
func (k *Kernel) queueSnap(q *skb.SkBuffHead, tcp bool) QueueSnap {
	qs := QueueSnap{Addr: hexAddr(q.Addr), Qlen: skb.SkbQueueLen(q), Skbs: []string{}, Sums: []SkbSum{}}
	skb.SkbQueueWalk(q, func(s *skb.SkBuff) bool {
		qs.Skbs = append(qs.Skbs, hexAddr(s.Addr()))
		if len(qs.Sums) < queueSumCap {
			sum := SkbSum{Len: s.Len}
			if tcp {
				sum.Seq, sum.EndSeq = cbSeqOf(s), cbEndSeqOf(s)
				sum.Sacked = tcpcbSackedNames(s.Cb[cbSacked])
			}
			qs.Sums = append(qs.Sums, sum)
		}
		return true
	})
	return qs
}

func (k *Kernel) sockSnap(sk *sockets.Sock, chainName map[*sockets.SockCommon]string) SockSnap {
	ss := SockSnap{
		Sk:    hexAddr(sk.Addr()),
		Proto: sk.SkcProt.Name,
		SockCommon: SockCommonSnap{
			SkcFamily: sk.SkcFamily, SkcState: sk.SkcState.String(), SkcReuse: sk.SkcReuse,
			SkcReuseport: sk.SkcReuseport, SkcBoundDevIf: sk.SkcBoundDevIf, SkcHash: sk.SkcHash,
			SkcNum: sk.SkcNum, SkcDport: sk.SkcDport.Ntohs(), SkcRcvSaddr: sk.SkcRcvSaddr.String(),
			SkcDaddr: sk.SkcDaddr.String(), SkcRefcnt: sk.SkcRefcnt, SkcNode: chainName[&sk.SockCommon],
		},
		SkType: sk.SkType, SkProtocol: sk.SkProtocol, SkFlags: sk.SockFlagNames(),
		SkShutdown: sk.SkShutdown, SkUserlocks: sk.SkUserlocks, SkRcvbuf: sk.SkRcvbuf, SkSndbuf: sk.SkSndbuf,
		SkRmemAlloc: sk.SkRmemAlloc, SkWmemAlloc: sk.SkWmemAlloc, SkWmemQueued: sk.SkWmemQueued, SkDrops: sk.SkDrops,
		SkForwardAlloc: sk.SkForwardAlloc, SkAckBacklog: sk.SkAckBacklog, SkMaxAckBacklog: sk.SkMaxAckBacklog,
		SkRcvtimeoNs: sk.SkRcvtimeo, SkLingertimeNs: sk.SkLingertime, SkErr: sk.SkErr, SkLockOwned: sk.SkLock.Owned,
		SkReceiveQueue: k.queueSnap(&sk.SkReceiveQueue, sk.SkcProt == k.tcpProt),
		SkWriteQueue:   k.queueSnap(&sk.SkWriteQueue, sk.SkcProt == k.tcpProt),
		SkBacklogLen:   sk.SkBacklog.Len,
	}
	if ss.SkFlags == nil {
		ss.SkFlags = []string{}
	}
	if c := k.mem.VirtToCache(sk.Addr()); c != nil {
		ss.Cache = c.Name()
	}
	if sock := sk.SkSocket; sock != nil {
		ss.Socket = &SocketSnap{Addr: hexAddr(sock.Addr()), State: sock.State.String(), Type: sock.Type,
			Ino: sock.Ino, Waiters: sock.Wq.Len()}
		if sock.Ops != nil {
			ss.Socket.Ops = sock.Ops.Name
		}
		if sock.File != nil {
			ss.Socket.File = hexAddr(sock.File.Addr())
		}
	}
	if inet := sockets.InetOf(sk); inet != nil {
		ss.InetSaddr = inet.InetSaddr.String()
		ss.InetSport = inet.InetSport.Ntohs()
		ss.UcTtl = inet.UcTtl
	}
	if icsk := sockets.IcskOf(sk); icsk != nil && sk.SkcProt == k.tcpProt {
		is := &IcskSnap{IcskRtoNs: icsk.IcskRto}
		q := &icsk.IcskAcceptQueue
		is.AcceptQueue = AcceptQueueSnap{Qlen: q.Qlen, Young: q.Young, AcceptQueue: []ReqSockSnap{}}
		for _, r := range q.AcceptQueue() {
			rs := ReqSockSnap{Req: hexAddr(r.Addr()), State: r.SkcState.String(), NumRetrans: r.NumRetrans,
				NumTimeout: r.NumTimeout, Acked: r.Acked, Peer: fmt.Sprintf("%s:%d", r.SkcDaddr, r.SkcDport.Ntohs())}
			if r.Sk != nil {
				rs.Child = hexAddr(r.Sk.Addr())
			}
			is.AcceptQueue.AcceptQueue = append(is.AcceptQueue.AcceptQueue, rs)
		}
		if icsk.IcskBindHash != nil {
			is.IcskBindHash = hexAddr(icsk.IcskBindHash.Addr())
			is.IcskBind2Hash = hexAddr(icsk.IcskBind2Hash.Addr())
			ss.SockCommon.SkcBindNode = is.IcskBind2Hash
		}
		if icsk.IcskAfOps != nil {
			is.IcskAfOps = icsk.IcskAfOps.Name
		}
		ss.Icsk = is
		tp := tcpSk(sk)
		ss.Tcp = &TcpSnap{SndUna: tp.SndUna, SndNxt: tp.SndNxt, WriteSeq: tp.WriteSeq, SndWl1: tp.SndWl1,
			SndWnd: tp.SndWnd, RcvNxt: tp.RcvNxt, CopiedSeq: tp.CopiedSeq, RcvWup: tp.RcvWup, RcvWnd: tp.RcvWnd,
			SndIsn: tp.SndIsn, RcvIsn: tp.RcvIsn, SndWscale: tp.RxOpt.SndWscale, RcvWscale: tp.RxOpt.RcvWscale,
			SndCwnd: tp.SndCwnd, SndSsthresh: tp.SndSsthresh, PacketsOut: tp.PacketsOut, RetransOut: tp.RetransOut,
			TotalRetrans: tp.TotalRetrans, SrttUs: tp.Srtt, RttvarUs: tp.Rttvar, MssCache: tp.MssCache,
			AdvMss: tp.AdvMss, RcvMss: tp.RcvMss, Nonagle: tp.Nonagle, Reordering: tp.Reordering,
			CaState: sockets.CaStateName(tp.IcskCaState), HighSeq: tp.HighSeq, SackedOut: tp.sackedOut, LostOut: tp.lostOut,
			PriorCwnd: tp.priorCwnd, PrrDelivered: tp.prrDelivered, PrrOut: tp.prrOut, RackRttUs: tp.rack.rttUs,
			ReordSeen:  tp.reordSeen,
			Congestion: tp.CongestionOps, AckPending: tp.ack.Pending, AckQuick: tp.ack.Quick,
			AckPingpong: tp.ack.Pingpong, AckAtoNs: tp.ack.Ato,
			RtxQueue: k.queueSnap(&tp.rtxQueue, true), OfoQueue: k.queueSnap(&tp.outOfOrderQueue, true)}
		if sk.SkcState == sockets.TCP_LISTEN {
			is.AcceptQueue.SynQueue = k.synQueueSnap(sk, chainName)
		}
	}
	return ss
}

// synQueueSnap lists a listener's request socks, in ehash order.
func (k *Kernel) synQueueSnap(lsk *sockets.Sock, chainName map[*sockets.SockCommon]string) []ReqSockSnap {
	out := []ReqSockSnap{}
	for i := range k.hash.Ehash {
		for _, sc := range k.hash.Ehash[i].Chain() {
			r, ok := sc.Owner().(*sockets.RequestSock)
			if !ok || r.RskListener != lsk {
				continue
			}
			rs := ReqSockSnap{Req: hexAddr(r.Addr()), State: r.SkcState.String(), NumRetrans: r.NumRetrans,
				NumTimeout: r.NumTimeout, Acked: r.Acked, SkcNode: chainName[sc],
				Peer: fmt.Sprintf("%s:%d", r.SkcDaddr, r.SkcDport.Ntohs())}
			if t := k.reqTimers[r]; t != nil && t.Pending() {
				rs.ExpiresNs = t.Expires()
			}
			out = append(out, rs)
		}
	}
	return out
}

func (k *Kernel) hashSnap() HashinfoSnap {
	h := k.hash
	hs := HashinfoSnap{EhashSize: len(h.Ehash), BhashSize: len(h.Bhash), Lhash2Size: len(h.Lhash2),
		EhashSecret: h.EhashSecret, NetHashMix: k.net.HashMix,
		Ehash: []BucketSnap{}, Bhash: []BindSnap{}, Bhash2: []Bind2Snap{}, Lhash2: []BucketSnap{}}
	chain := func(scs []*sockets.SockCommon) []ChainSnap {
		var out []ChainSnap
		for _, sc := range scs {
			state := sc.SkcState
			if tw, ok := sc.Owner().(*sockets.InetTimewaitSock); ok {
				state = tw.TwSubstate // as ss shows a tw: by its substate
			}
			out = append(out, ChainSnap{
				Addr: hexAddr(sc.Addr()), State: state.String(), Hash: sc.SkcHash,
				Local: fmt.Sprintf("%s:%d", sc.SkcRcvSaddr, sc.SkcNum),
				Peer:  fmt.Sprintf("%s:%d", sc.SkcDaddr, sc.SkcDport.Ntohs()),
			})
		}
		return out
	}
	for i := range h.Ehash {
		if c := h.Ehash[i].Chain(); len(c) > 0 {
			hs.Ehash = append(hs.Ehash, BucketSnap{Index: i, Chain: chain(c)})
		}
	}
	for i := range h.Lhash2 {
		if c := h.Lhash2[i].Chain(); len(c) > 0 {
			hs.Lhash2 = append(hs.Lhash2, BucketSnap{Index: i, Chain: chain(c)})
		}
	}
	for i := range h.Bhash {
		tbs := h.Bhash[i].Chain()
		if len(tbs) == 0 {
			continue
		}
		b := BindSnap{Index: i}
		for _, tb := range tbs {
			ts := TbSnap{Tb: hexAddr(tb.Addr()), Port: tb.Port, Fastreuse: tb.Fastreuse, Fastreuseport: tb.Fastreuseport, Bhash2: []string{}}
			for _, tb2 := range tb.Buckets() {
				ts.Bhash2 = append(ts.Bhash2, hexAddr(tb2.Addr()))
			}
			b.Buckets = append(b.Buckets, ts)
		}
		hs.Bhash = append(hs.Bhash, b)
	}
	for i := range h.Bhash2 {
		tb2s := h.Bhash2[i].Chain()
		if len(tb2s) == 0 {
			continue
		}
		b := Bind2Snap{Index: i}
		for _, tb2 := range tb2s {
			ts := Tb2Snap{Tb2: hexAddr(tb2.Addr()), Port: tb2.Port, RcvSaddr: tb2.RcvSaddr.String(), Owners: []string{}}
			for _, o := range tb2.Owners() {
				ts.Owners = append(ts.Owners, hexAddr(o.Addr()))
			}
			b.Buckets = append(b.Buckets, ts)
		}
		hs.Bhash2 = append(hs.Bhash2, b)
	}
	return hs
}
