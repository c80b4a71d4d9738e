package sockets

// UdpHslot is struct udp_hslot: one chain of the UDP table.
type UdpHslot struct {
	head  hlist[SockCommon]
	Count int
}

// UdpTable is struct udp_table: socks by local port (hash, chained through
// skc_node) and by (address, port) (hash2, chained through
// skc_portaddr_node, which shares its storage with skc_bind_node).
type UdpTable struct {
	Hash  []UdpHslot
	Hash2 []UdpHslot
	Mask  uint32
	Log   uint32 // ilog2(size)
}

// UDP_HTABLE_SIZE_MIN is the smallest UDP table (uhash_entries).
const UDP_HTABLE_SIZE_MIN = 256

// NewUdpTable is udp_table_init with n slots (a power of two, at least
// UDP_HTABLE_SIZE_MIN).
func NewUdpTable(n int) *UdpTable {
	n = RoundPow2(max(n, UDP_HTABLE_SIZE_MIN))
	log := uint32(0)
	for 1<<log < n {
		log++
	}
	return &UdpTable{Hash: make([]UdpHslot, n), Hash2: make([]UdpHslot, n), Mask: uint32(n - 1), Log: log}
}

// UdpHashfn is udp_hashfn: (port + net_hash_mix) & mask.
func UdpHashfn(net *Net, num uint16, mask uint32) uint32 { return (uint32(num) + net.HashMix) & mask }

// Slot returns the hash slot of a port.
func (t *UdpTable) Slot(net *Net, num uint16) *UdpHslot { return &t.Hash[UdpHashfn(net, num, t.Mask)] }

// Slot2 returns the hash2 slot of a portaddr hash.
func (t *UdpTable) Slot2(hash uint32) *UdpHslot { return &t.Hash2[hash&t.Mask] }

// Socks returns the socks of a slot, head first.
func (s *UdpHslot) Socks() []*SockCommon { return chainOf(&s.head) }

// Socks2 returns the socks of a hash2 slot, head first.
func (s *UdpHslot) Socks2() []*SockCommon {
	var out []*SockCommon
	s.head.each(bindNodeOf, func(sc *SockCommon) bool { out = append(out, sc); return true })
	return out
}

// Each walks a hash slot from the head.
func (s *UdpHslot) Each(fn func(sc *SockCommon) bool) { s.head.each(nodeOf, fn) }

// Each2 walks a hash2 slot from the head.
func (s *UdpHslot) Each2(fn func(sc *SockCommon) bool) { s.head.each(bindNodeOf, fn) }

// Add puts sk at the head of slot (sk_add_node_rcu) and of slot2
// (hlist_add_head_rcu of udp_portaddr_node).
func (t *UdpTable) Add(sk *Sock, slot, slot2 *UdpHslot) {
	slot.head.addHead(&sk.SockCommon, nodeOf)
	sk.chain = &slot.head
	slot.Count++
	slot2.head.addHead(&sk.SockCommon, bindNodeOf)
	sk.bindChain = &slot2.head
	slot2.Count++
}

// Remove takes sk off both chains (udp_lib_unhash).
func (t *UdpTable) Remove(sk *Sock, slot, slot2 *UdpHslot) {
	if sk.chain != nil {
		sk.chain.del(&sk.SockCommon, nodeOf)
		sk.chain = nil
		slot.Count--
	}
	if sk.bindChain != nil {
		sk.bindChain.del(&sk.SockCommon, bindNodeOf)
		sk.bindChain = nil
		slot2.Count--
	}
}

// Move2 moves sk from one hash2 slot to another (udp_lib_rehash).
func (t *UdpTable) Move2(sk *Sock, from, to *UdpHslot) {
	if sk.bindChain != nil {
		sk.bindChain.del(&sk.SockCommon, bindNodeOf)
		from.Count--
	}
	to.head.addHead(&sk.SockCommon, bindNodeOf)
	sk.bindChain = &to.head
	to.Count++
}
