package skb

import (
	"github.com/stackscope/stackscope/slab"
	"github.com/stackscope/stackscope/tracing"
)

// fclone states (enum in include/linux/skbuff.h).
const (
	SKB_FCLONE_UNAVAILABLE = 0 // an ordinary skb from skbuff_head_cache
	SKB_FCLONE_ORIG        = 1 // the first of an fclone pair
	SKB_FCLONE_CLONE       = 2 // the second, used by skb_clone of the first
)

// SKB_DATAREF_SHIFT splits skb_shared_info.dataref: the low 16 bits count
// every reference to the data, the high 16 bits the payload-only ones.
const (
	SKB_DATAREF_SHIFT = 16
	SKB_DATAREF_MASK  = 1<<SKB_DATAREF_SHIFT - 1
)

// headerUnset is (typeof(skb->mac_header))~0U: a header mark not set yet.
const headerUnset = ^uint16(0)

// SkBuff is struct sk_buff: the metadata of one packet. Its bytes live in a
// separate buffer (head .. end) shared with clones, followed by
// skb_shared_info.
type SkBuff struct {
	next, prev *SkBuff
	list       *SkBuffHead // the queue holding it (the model's check; the kernel trusts callers)

	// Cb is the 48-byte control buffer each layer uses for its own per-packet
	// state (TCP_SKB_CB, IPCB).
	Cb [48]byte

	// Sk is the owning socket (struct sock *), set by the socket layer;
	// Dev the device (struct net_device *) the packet came in on or goes
	// out of. They are opaque here because skb sits below both.
	Sk  any
	Dev any
	// Destructor runs when the skb is freed or orphaned (skb->destructor):
	// the owner's accounting, such as tcp_wfree giving back the bytes a
	// sent packet held in sk_wmem_alloc. Clones do not inherit it.
	Destructor func(*SkBuff)
	// Protocol is the link-level protocol (ETH_P_IP = 0x0800).
	Protocol uint16
	// PktType is PACKET_HOST and friends.
	PktType uint8
	// Iif is skb_iif: the ifindex the packet arrived on.
	Iif int32

	Len     uint32 // bytes of data: linear part plus paged part
	DataLen uint32 // bytes in page frags and the frag list
	HdrLen  uint16 // writable header length of a cloned skb
	Cloned  bool   // the data buffer may be shared with another skb
	Nohdr   bool   // this skb holds only a payload reference (see dataref)
	Fclone  uint8  // SKB_FCLONE_*

	// Header marks: u16 offsets from head; 0xffff means unset.
	MacHeader       uint16
	NetworkHeader   uint16
	TransportHeader uint16

	// Truesize is what the skb costs its socket's memory accounting.
	Truesize uint32
	// PagedHeadEnd, when not zero, marks an skb the kernel would build as
	// a small head plus page frags (TCP's data skbs: tcp_stream_alloc_skb
	// and skb_copy_to_page_nocache): it is that head's skb_end_offset (256
	// for a MAX_TCP_HEADER head). The model keeps the payload in the
	// linear buffer, because its transmit and receive paths read linear
	// data, so head .. end is larger than the kernel's; but Truesize is
	// the kernel's, SKB_TRUESIZE(PagedHeadEnd) plus the payload bytes,
	// and clones and pskb_copy keep it so. Model-only: the kernel has no
	// such field, its layout says it.
	PagedHeadEnd uint32

	data uint32 // offset of data from head (the kernel keeps a pointer)
	tail uint32 // offset from head
	end  uint32 // offset from head; skb_shared_info starts here
	head slab.Addr

	users int32 // refcount_t users

	addr   slab.Addr // where this struct sk_buff lives
	shared *skbData
	fc     *skbFclones
	h      *Hotdata
	freed  bool
}

// skbData is the head buffer: head .. end holds packet bytes, and
// skb_shared_info sits at end. Clones point at the same skbData.
type skbData struct {
	head   slab.Addr
	size   uint32 // bytes of the allocation (SKB_HEAD_ALIGN'ed)
	small  bool   // from skbuff_small_head rather than kmalloc
	mem    []byte // head .. head+size
	shinfo SkbSharedInfo
}

// skbFclones is struct sk_buff_fclones: two sk_buffs allocated together so
// that TCP's clone for transmission needs no allocation.
type skbFclones struct {
	addr      slab.Addr
	skb1      SkBuff
	skb2      SkBuff
	fcloneRef int32
}

// SkbFrag is skb_frag_t: a piece of a page holding paged data.
type SkbFrag struct {
	Page   slab.Addr // address of the page block from alloc_pages
	Offset uint32
	Len    uint32
}

// SkbSharedInfo is struct skb_shared_info, which lives at skb_end_pointer
// and is shared by an skb and its clones.
type SkbSharedInfo struct {
	Flags    uint8
	NrFrags  uint8
	TxFlags  uint8
	GsoSize  uint16
	GsoSegs  uint16
	GsoType  uint32
	FragList *SkBuff
	Frags    [MaxSkbFrags]SkbFrag
	dataref  uint32 // atomic_t dataref
}

// Dataref returns the raw dataref counter: low 16 bits all references,
// high 16 bits payload-only references.
func (si *SkbSharedInfo) Dataref() uint32 { return si.dataref }

// Addr returns the kernel address of this struct sk_buff.
func (s *SkBuff) Addr() slab.Addr { return s.addr }

// Head returns skb->head.
func (s *SkBuff) Head() slab.Addr { return s.head }

// Data returns skb->data.
func (s *SkBuff) Data() slab.Addr { return s.head + slab.Addr(s.data) }

// DataOffset returns skb->data - skb->head.
func (s *SkBuff) DataOffset() uint32 { return s.data }

// TailOffset returns skb->tail (an offset from head on 64-bit builds).
func (s *SkBuff) TailOffset() uint32 { return s.tail }

// EndOffset returns skb_end_offset: skb->end.
func (s *SkBuff) EndOffset() uint32 { return s.end }

// TailPointer is skb_tail_pointer.
func (s *SkBuff) TailPointer() slab.Addr { return s.head + slab.Addr(s.tail) }

// EndPointer is skb_end_pointer: where skb_shared_info begins.
func (s *SkBuff) EndPointer() slab.Addr { return s.head + slab.Addr(s.end) }

// Users returns refcount_read(&skb->users).
func (s *SkBuff) Users() int32 { return s.users }

// Freed reports whether the skb has been freed; a freed skb must not be
// used, and every operation on it returns an error.
func (s *SkBuff) Freed() bool { return s.freed }

// Shinfo is skb_shinfo: the shared info at the end of the data buffer.
func (s *SkBuff) Shinfo() *SkbSharedInfo { return &s.shared.shinfo }

// Bytes returns the linear data, data .. tail. It aliases the buffer:
// writes change the packet.
func (s *SkBuff) Bytes() []byte { return s.shared.mem[s.data:s.tail:s.tail] }

// HeadBytes returns the whole linear buffer, head .. end.
func (s *SkBuff) HeadBytes() []byte { return s.shared.mem[:s.end:s.end] }

// SmallHead reports whether the head came from skbuff_small_head.
func (s *SkBuff) SmallHead() bool { return s.shared.small }

// SkbHeadroom is skb_headroom: bytes free before data.
func SkbHeadroom(s *SkBuff) uint32 {
	s.h.tr.Enter1(fnSkbHeadroom, tracing.Skb(uint64(s.addr)))
	n := s.data
	s.h.tr.Exit(fnSkbHeadroom, tracing.Int(int64(n)))
	return n
}

// SkbTailroom is skb_tailroom: bytes free after tail (0 for a nonlinear skb).
func SkbTailroom(s *SkBuff) uint32 {
	s.h.tr.Enter1(fnSkbTailroom, tracing.Skb(uint64(s.addr)))
	var n uint32
	if !SkbIsNonlinear(s) {
		n = s.end - s.tail
	}
	s.h.tr.Exit(fnSkbTailroom, tracing.Int(int64(n)))
	return n
}

// SkbHeadlen is skb_headlen: bytes of data in the linear part.
func SkbHeadlen(s *SkBuff) uint32 {
	s.h.tr.Enter1(fnSkbHeadlen, tracing.Skb(uint64(s.addr)))
	n := s.Len - s.DataLen
	s.h.tr.Exit(fnSkbHeadlen, tracing.Int(int64(n)))
	return n
}

// SkbIsNonlinear is skb_is_nonlinear: some data is in frags.
func SkbIsNonlinear(s *SkBuff) bool { return s.DataLen != 0 }

// SkbShared is skb_shared: more than one user holds this sk_buff.
func SkbShared(s *SkBuff) bool { return s.users != 1 }

// SkbCloned is skb_cloned: the data buffer is really shared with another
// skb right now.
func SkbCloned(s *SkBuff) bool {
	s.h.tr.Enter1(fnSkbCloned, tracing.Skb(uint64(s.addr)))
	c := s.Cloned && s.shared.shinfo.dataref&SKB_DATAREF_MASK != 1
	s.h.tr.Exit(fnSkbCloned, tracing.Bool(c))
	return c
}

// SkbHeaderCloned is skb_header_cloned: somebody else may read the
// headers, so they must not be written in place.
func SkbHeaderCloned(s *SkBuff) bool {
	s.h.tr.Enter1(fnSkbHeaderCloned, tracing.Skb(uint64(s.addr)))
	c := false
	if s.Cloned {
		d := s.shared.shinfo.dataref
		c = (d&SKB_DATAREF_MASK)-(d>>SKB_DATAREF_SHIFT) != 1
	}
	s.h.tr.Exit(fnSkbHeaderCloned, tracing.Bool(c))
	return c
}

// Header mark helpers (skb_reset_*_header, skb_*_header_was_set).

// SkbResetNetworkHeader sets network_header to data.
func SkbResetNetworkHeader(s *SkBuff) { s.NetworkHeader = uint16(s.data) }

// SkbResetTransportHeader sets transport_header to data.
func SkbResetTransportHeader(s *SkBuff) { s.TransportHeader = uint16(s.data) }

// SkbResetMacHeader sets mac_header to data.
func SkbResetMacHeader(s *SkBuff) { s.MacHeader = uint16(s.data) }

// SkbMacHeaderWasSet is skb_mac_header_was_set.
func SkbMacHeaderWasSet(s *SkBuff) bool { return s.MacHeader != headerUnset }

// SkbTransportHeaderWasSet is skb_transport_header_was_set.
func SkbTransportHeaderWasSet(s *SkBuff) bool { return s.TransportHeader != headerUnset }
