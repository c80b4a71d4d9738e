package stack

import (
	"fmt"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack/netdev"
)

// skbSnapBytes bounds the bytes an SkbSnap copies from an skb's head: the
// headers and the start of the payload, enough for a hex dump. A packet
// tap copies less: tapBytes from data on (the headers and the start of
// the payload), so watching a bulk transfer stays cheap.
const (
	skbSnapBytes = 2048
	tapBytes     = 128
)

// SkbSnap is one sk_buff as the inspector draws it: where its head buffer
// is, where data, tail and end point into it, its lengths and reference
// counts, and the bytes from head to tail (at most skbSnapBytes).
type SkbSnap struct {
	Addr     string `json:"skb"`
	Cache    string `json:"cache"` // skbuff_head_cache or skbuff_fclone_cache
	Head     string `json:"head"`
	HeadSize uint32 `json:"head_size"` // head .. end (skb_shared_info follows it)
	// Offsets from head, as the kernel's skb_headroom and friends compute.
	Data            uint32 `json:"data"`
	Tail            uint32 `json:"tail"`
	End             uint32 `json:"end"`
	NetworkHeader   uint16 `json:"network_header"`   // 0xffff: unset
	TransportHeader uint16 `json:"transport_header"` // 0xffff: unset
	Len             uint32 `json:"len"`
	DataLen         uint32 `json:"data_len"`
	Truesize        uint32 `json:"truesize"`
	Users           int32  `json:"users"`
	Dataref         uint32 `json:"dataref"`
	Cloned          bool   `json:"cloned"`
	Fclone          uint8  `json:"fclone"` // SKB_FCLONE_UNAVAILABLE, _ORIG, _CLONE
	NrFrags         uint8  `json:"nr_frags"`
	SmallHead       bool   `json:"small_head"` // head from skbuff_small_head, not kmalloc
	// PagedHeadEnd, when not 0, says the kernel would build this skb as a
	// head ending at this offset with the payload in page frags; the
	// model keeps the payload in the head, and charges truesize as the
	// kernel does.
	PagedHeadEnd uint32 `json:"paged_head_end,omitempty"`
	Sk           string `json:"sk,omitempty"`
	Dev          string `json:"dev,omitempty"`
	// Bytes are head .. tail (cut at skbSnapBytes): Bytes[Data:] is what
	// skb->data points at.
	Bytes []byte `json:"bytes"`
	// Seq and EndSeq are TCP_SKB_CB(skb)->seq and end_seq, for TCP skbs.
	Seq    uint32 `json:"seq,omitempty"`
	EndSeq uint32 `json:"end_seq,omitempty"`
}

// skbSnap copies an skb's layout and its bytes up to limit from head.
func (k *Kernel) skbSnap(s *skb.SkBuff, limit uint32) SkbSnap {
	ss := SkbSnap{Addr: hexAddr(s.Addr()), Head: hexAddr(s.Head()), Data: s.DataOffset(), Tail: s.TailOffset(),
		End: s.EndOffset(), NetworkHeader: s.NetworkHeader, TransportHeader: s.TransportHeader, Len: s.Len,
		DataLen: s.DataLen, Truesize: s.Truesize, Users: s.Users(), Dataref: s.Shinfo().Dataref(), Cloned: s.Cloned,
		Fclone: s.Fclone, NrFrags: s.Shinfo().NrFrags, SmallHead: s.SmallHead(), PagedHeadEnd: s.PagedHeadEnd}
	ss.HeadSize = uint32(len(s.HeadBytes()))
	if c := k.mem.VirtToCache(s.Addr()); c != nil {
		ss.Cache = c.Name()
	}
	if sk, ok := s.Sk.(*sockets.Sock); ok && sk != nil {
		ss.Sk = hexAddr(sk.Addr())
	}
	if d, ok := s.Dev.(*netdev.Device); ok && d != nil {
		ss.Dev = d.Name
	}
	n := min(s.TailOffset(), limit)
	ss.Bytes = append([]byte(nil), s.HeadBytes()[:n]...)
	ss.Seq, ss.EndSeq = cbSeqOf(s), cbEndSeqOf(s)
	return ss
}

// DescribeSkb finds a queued sk_buff by its address (as a snapshot lists
// it: "0xffff8880..."), in any sock's receive, write, retransmit or
// out-of-order queue or backlog, or the device backlog, and returns its
// layout and bytes.
func (k *Kernel) DescribeSkb(addr string) (*SkbSnap, error) {
	return control(k, "describe-skb", true, func(k *Kernel) (*SkbSnap, error) {
		var found *skb.SkBuff
		look := func(q *skb.SkBuffHead) {
			if found != nil {
				return
			}
			skb.SkbQueueWalk(q, func(s *skb.SkBuff) bool {
				if hexAddr(s.Addr()) == addr {
					found = s
					return false
				}
				return true
			})
		}
		look(&k.backlog)
		for _, sk := range k.net.Socks() {
			look(&sk.SkReceiveQueue)
			look(&sk.SkWriteQueue)
			for s := sk.SkBacklog.Head; s != nil && found == nil; s = k.backlogNext[s] {
				if hexAddr(s.Addr()) == addr {
					found = s
				}
			}
			if sk.SkcProt == k.tcpProt {
				tp := tcpSk(sk)
				look(&tp.rtxQueue)
				look(&tp.outOfOrderQueue)
			}
		}
		if found == nil {
			return nil, fmt.Errorf("no queued sk_buff at %s (it may have been freed)", addr)
		}
		ss := k.skbSnap(found, skbSnapBytes)
		return &ss, nil
	})
}
