package stack

import (
	"slices"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/stack/header"
	"github.com/stackscope/stackscope/tracing"
)

// Reassembly limits (net.ipv4.ipfrag_*): 30 s for a datagram to complete,
// and no new fragments once queued fragments use 4 MiB.
const (
	ipfragTime       = int64(30e9)
	ipfragHighThresh = 4 << 20
	ipfragMaxLen     = 65535
)

type fragKey struct {
	src, dst uint32
	id       uint16
	proto    uint8
}

type fragPiece struct {
	off  int
	data []byte
}

// fragRun is a run of fragments the kernel keeps as one node of its
// rbtree (fragrun_create, fragrun_append_to_last): [off, end) of the
// payload.
type fragRun struct{ off, end int }

// ipq is struct ipq: the fragments of one datagram being reassembled.
type ipq struct {
	key      fragKey
	pieces   []fragPiece // sorted by offset, never overlapping
	runs     []fragRun   // sorted by offset; the last is the tail run
	len      int         // q.len: the end of the furthest fragment, or the whole payload once the last came
	meat     int         // q.meat: payload bytes queued
	firstHdr []byte      // IP header of the fragment at offset 0
	mem      int
	timer    *Timer
	dev      any
	hasFirst bool
	hasLast  bool
}

// fragQueues is the namespace's fqdir: queues by key, in arrival order.
type fragQueues struct {
	byKey map[fragKey]*ipq
	mem   int
}

// ipDefrag is ip_defrag: queue a fragment; when its datagram is complete,
// return the reassembled packet (ip_frag_reasm), else nil.
func (k *Kernel) ipDefrag(s *skb.SkBuff) *skb.SkBuff {
	k.tr.Enter1(fnIpDefrag, tracing.Skb(uint64(s.Addr())))
	out := k.ipDefragOne(s)
	var ret uint64
	if out != nil {
		ret = uint64(out.Addr())
	}
	k.tr.Exit(fnIpDefrag, tracing.Skb(ret))
	return out
}

func (k *Kernel) ipDefragOne(s *skb.SkBuff) *skb.SkBuff {
	k.mib.inc(IPSTATS_MIB_REASMREQDS)
	iph := ipHdr(s)
	key := fragKey{be32(iph.Src()), be32(iph.Dst()), iph.ID(), iph.Protocol()}
	fq := &k.frags
	if fq.byKey == nil {
		fq.byKey = map[fragKey]*ipq{}
	}
	// inet_frag_find: over ipfrag_high_thresh, no queue is found or made.
	if fq.mem > ipfragHighThresh {
		k.ipDrop(s, IPSTATS_MIB_REASMFAILS, skb.SKB_DROP_REASON_NOMEM)
		return nil
	}
	q := fq.byKey[key]
	if q == nil {
		q = &ipq{key: key, dev: s.Dev}
		q.timer = NewTimer("ip_expire", func() { k.ipExpire(q) })
		k.ModTimer(q.timer, k.clock.Now()+ipfragTime)
		fq.byKey[key] = q
	}
	return k.ipFragQueue(q, s)
}

// ipFragQueue is ip_frag_queue: place the fragment in its queue. A last
// fragment that ends before data already queued, or at another end than
// an earlier last fragment, and a fragment reaching past a known end
// corrupt the datagram: the queue goes (ReasmFails). A fragment with MF
// whose length is not a multiple of 8 is trimmed to one. A fragment lying
// inside a run already queued is a duplicate and goes alone; one that
// overlaps otherwise kills the queue (ReasmOverlaps, RFC 5722).
func (k *Kernel) ipFragQueue(q *ipq, s *skb.SkBuff) *skb.SkBuff {
	iph := ipHdr(s)
	off := iph.FragmentOffset()
	data := iph.Payload()
	end := off + len(data)
	discard := func(reason skb.DropReason) *skb.SkBuff { // discard_qp
		k.ipFragKill(q)
		k.ipDrop(s, IPSTATS_MIB_REASMFAILS, reason)
		return nil
	}
	if !iph.MoreFragments() {
		if end < q.len || (q.hasLast && end != q.len) {
			return discard(skb.SKB_DROP_REASON_FRAG_TOO_FAR)
		}
		q.hasLast, q.len = true, end
	} else {
		end &^= 7
		if end > q.len {
			if q.hasLast {
				return discard(skb.SKB_DROP_REASON_FRAG_TOO_FAR)
			}
			q.len = end
		}
	}
	if end == off {
		return discard(skb.SKB_DROP_REASON_NOT_SPECIFIED)
	}
	data = data[:end-off] // pskb_trim_rcsum
	switch q.insertRun(off, end) {
	case ipfragDup:
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_DUP_FRAG)
		return nil
	case ipfragOverlap:
		k.mib.inc(IPSTATS_MIB_REASMOVERLAPS)
		return discard(skb.SKB_DROP_REASON_DUP_FRAG)
	}
	if off == 0 {
		q.hasFirst = true
		q.firstHdr = append([]byte(nil), iph[:iph.IHL()]...)
	}
	q.pieces = append(q.pieces, fragPiece{off: off, data: append([]byte(nil), data...)})
	slices.SortFunc(q.pieces, func(a, b fragPiece) int { return a.off - b.off })
	q.meat += len(data)
	q.mem += int(s.Truesize)
	k.frags.mem += int(s.Truesize)
	_ = skb.ConsumeSkb(s)
	if !q.hasFirst || !q.hasLast || q.meat != q.len {
		return nil
	}
	return k.ipFragReasm(q)
}

// The results of inet_frag_queue_insert.
const (
	ipfragOk = iota
	ipfragDup
	ipfragOverlap
)

// insertRun is inet_frag_queue_insert on the queue's runs: a fragment
// past the tail run's end extends that run if it starts where the run
// ends, or starts a new one; any other must fall wholly inside one run
// (a duplicate) or touch none (a new run), else it overlaps.
func (q *ipq) insertRun(off, end int) int {
	n := len(q.runs)
	if n == 0 {
		q.runs = append(q.runs, fragRun{off, end})
		return ipfragOk
	}
	if tail := &q.runs[n-1]; tail.end < end {
		switch {
		case off < tail.end:
			return ipfragOverlap
		case off == tail.end:
			tail.end = end
		default:
			q.runs = append(q.runs, fragRun{off, end})
		}
		return ipfragOk
	}
	i := 0
	for ; i < n; i++ {
		r := q.runs[i]
		if end <= r.off {
			break
		}
		if off >= r.end {
			continue
		}
		if off >= r.off && end <= r.end {
			return ipfragDup
		}
		return ipfragOverlap
	}
	q.runs = slices.Insert(q.runs, i, fragRun{off, end})
	return ipfragOk
}

// ipFragReasm is ip_frag_reasm: one packet from the fragments, with the
// first fragment's header, MF and offset cleared.
func (k *Kernel) ipFragReasm(q *ipq) *skb.SkBuff {
	k.tr.Enter(fnIpFragReasm)
	hl := len(q.firstHdr)
	if hl+q.len > ipfragMaxLen { // out_oversize
		k.ipFragKill(q)
		k.mib.inc(IPSTATS_MIB_REASMFAILS)
		k.tr.Exit(fnIpFragReasm, tracing.Skb(0))
		return nil
	}
	n, err := skb.AllocSkb(k.skbs, uint32(rxHeadroom+hl+q.len))
	if err != nil {
		k.ipFragKill(q)
		k.mib.inc(IPSTATS_MIB_REASMFAILS)
		k.tr.Exit(fnIpFragReasm, tracing.Skb(0))
		return nil
	}
	_ = skb.SkbReserve(n, rxHeadroom)
	b, _ := skb.SkbPut(n, uint32(hl+q.len))
	copy(b, q.firstHdr)
	for _, p := range q.pieces {
		copy(b[hl+p.off:], p.data)
	}
	iph := header.IPv4(b)
	iph.SetTotalLength(hl + q.len)
	iph.SetFragOff(iph.FragOff() & header.IP_DF)
	iph.SetChecksum()
	n.Dev, n.Protocol, n.PktType = q.dev, ETH_P_IP, PACKET_HOST
	skb.SkbResetNetworkHeader(n)
	n.TransportHeader = n.NetworkHeader + uint16(hl)
	k.ipFragKill(q)
	k.mib.inc(IPSTATS_MIB_REASMOKS)
	k.tr.Exit(fnIpFragReasm, tracing.Skb(uint64(n.Addr())))
	return n
}

// ipFragKill removes a queue (ipq_kill) and frees its memory.
func (k *Kernel) ipFragKill(q *ipq) {
	if k.frags.byKey[q.key] != q {
		return
	}
	delete(k.frags.byKey, q.key)
	k.DelTimer(q.timer)
	k.frags.mem -= q.mem
}

// ipExpire is ip_expire: 30 s passed without the datagram completing. The
// sender hears ICMP "fragment reassembly time exceeded" if its first
// fragment arrived.
func (k *Kernel) ipExpire(q *ipq) {
	k.tr.Enter(fnIpExpire)
	k.ipFragKill(q)
	k.mib.inc(IPSTATS_MIB_REASMFAILS)
	k.mib.inc(IPSTATS_MIB_REASMTIMEOUT)
	if q.hasFirst && len(q.pieces) > 0 {
		// Rebuild the first fragment to quote it in the ICMP error.
		first := q.pieces[0]
		n, err := skb.AllocSkb(k.skbs, uint32(rxHeadroom+len(q.firstHdr)+len(first.data)))
		if err == nil {
			_ = skb.SkbReserve(n, rxHeadroom)
			b, _ := skb.SkbPut(n, uint32(len(q.firstHdr)+len(first.data)))
			copy(b, q.firstHdr)
			copy(b[len(q.firstHdr):], first.data)
			n.Dev = q.dev
			skb.SkbResetNetworkHeader(n)
			k.icmpSend(n, header.ICMP_TIME_EXCEEDED, icmpExcFragtime, 0)
			_ = skb.ConsumeSkb(n)
		}
	}
	k.tr.Exit(fnIpExpire, tracing.Arg{})
}

// ipFragment is ip_do_fragment (the slow path): split a packet too big
// for the device into fragments of at most mtu bytes, each with a copy of
// the header; a packet with DF set is refused instead, and the sender told
// "fragmentation needed" with the MTU.
func (k *Kernel) ipFragment(s *skb.SkBuff, mtu int) {
	k.tr.Enter2(fnIpFragment, tracing.Skb(uint64(s.Addr())), tracing.Int(int64(mtu)))
	defer k.tr.Exit(fnIpFragment, tracing.Arg{})
	iph := ipHdr(s)
	if iph.DontFragment() {
		k.mib.inc(IPSTATS_MIB_FRAGFAILS)
		k.icmpSend(s, header.ICMP_DEST_UNREACH, header.ICMP_FRAG_NEEDED, uint32(mtu))
		_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_PKT_TOO_BIG)
		return
	}
	hl := iph.IHL()
	hdr := append([]byte(nil), iph[:hl]...)
	left := int(s.Len) - hl
	ptr := hl
	offset := iph.FragmentOffset()
	moreAfter := iph.MoreFragments()
	for left > 0 {
		n := min(left, mtu-hl)
		if n < left {
			n &^= 7
		}
		f, err := skb.AllocSkb(k.skbs, uint32(llReservedSpace+hl+n))
		if err != nil {
			k.mib.inc(IPSTATS_MIB_FRAGFAILS)
			_ = skb.KfreeSkbReason(s, skb.SKB_DROP_REASON_NOMEM)
			return
		}
		_ = skb.SkbReserve(f, llReservedSpace)
		b, _ := skb.SkbPut(f, uint32(hl+n))
		copy(b, hdr)
		_ = skb.SkbCopyBits(s, ptr, b[hl:])
		fo := uint16(offset >> 3)
		if n < left || moreAfter {
			fo |= header.IP_MF
		}
		fh := header.IPv4(b)
		fh.SetFragOff(fo)
		fh.SetTotalLength(hl + n)
		fh.SetChecksum()
		f.Dev, f.Sk, f.Protocol = s.Dev, s.Sk, s.Protocol
		skb.SkbResetNetworkHeader(f)
		k.mib.inc(IPSTATS_MIB_FRAGCREATES)
		k.ipFinishOutput2(f)
		left -= n
		ptr += n
		offset += n
	}
	k.mib.inc(IPSTATS_MIB_FRAGOKS)
	_ = skb.ConsumeSkb(s)
}
