package skb

// Sizes of the x86-64 6.x build the model follows.
const (
	// SMPCacheBytes is SMP_CACHE_BYTES (and L1_CACHE_BYTES).
	SMPCacheBytes = 64
	// SizeofSkBuff is sizeof(struct sk_buff); SLAB_HWCACHE_ALIGN makes the
	// skbuff_head_cache objects 256 bytes.
	SizeofSkBuff = 232
	// SizeofSkbFclones is sizeof(struct sk_buff_fclones): two sk_buffs and
	// the fclone_ref counter (padded to 8), 512 bytes in its cache.
	SizeofSkbFclones = 2*SizeofSkBuff + 8
	// SizeofSkbSharedInfo is sizeof(struct skb_shared_info) with 17 frags.
	SizeofSkbSharedInfo = 320
	// MaxSkbFrags is MAX_SKB_FRAGS (CONFIG_MAX_SKB_FRAGS=17).
	MaxSkbFrags = 17

	// MaxHeader is MAX_HEADER: LL_MAX_HEADER (32 without WLAN or Hyper-V
	// networking built in) with no IP tunnels built in.
	MaxHeader = 32
	// MaxTCPHeader is MAX_TCP_HEADER = L1_CACHE_ALIGN(128 + MAX_HEADER):
	// the headroom TCP reserves for its own, IP's and the link's headers.
	MaxTCPHeader = (128 + MaxHeader + SMPCacheBytes - 1) &^ (SMPCacheBytes - 1)
	// NetSkbPad is NET_SKB_PAD = max(32, L1_CACHE_BYTES).
	NetSkbPad = 64
	// groMaxHeadPad is GRO_MAX_HEAD + NET_SKB_PAD + NET_IP_ALIGN (0 on x86).
	groMaxHeadPad = MaxHeader + 128 + NetSkbPad

	// SkbSmallHeadCacheSize is SKB_SMALL_HEAD_CACHE_SIZE: heads this small
	// come from the skbuff_small_head cache instead of kmalloc (since 6.3).
	SkbSmallHeadCacheSize = skbSmallHeadSize + smallHeadPow2Pad
	skbSmallHeadSize      = (max(MaxTCPHeader, groMaxHeadPad)+SMPCacheBytes-1)&^(SMPCacheBytes-1) + shinfoAligned
	// SKB_SMALL_HEAD_CACHE_SIZE adds a cache line when the size is a power of
	// two, so small heads can be told apart by size.
	smallHeadPow2Pad = SMPCacheBytes * (1 - min(1, skbSmallHeadSize&(skbSmallHeadSize-1)))
	// SkbSmallHeadHeadroom is SKB_SMALL_HEAD_HEADROOM: the usable bytes of a
	// small head.
	SkbSmallHeadHeadroom = SkbSmallHeadCacheSize - shinfoAligned

	shinfoAligned = (SizeofSkbSharedInfo + SMPCacheBytes - 1) &^ (SMPCacheBytes - 1)
	skbAligned    = (SizeofSkBuff + SMPCacheBytes - 1) &^ (SMPCacheBytes - 1)
)

// SkbDataAlign is SKB_DATA_ALIGN: round up to a cache line.
func SkbDataAlign(x uint32) uint32 { return (x + SMPCacheBytes - 1) &^ (SMPCacheBytes - 1) }

// SkbHeadAlign is SKB_HEAD_ALIGN: the allocation needed for x bytes of head
// plus skb_shared_info.
func SkbHeadAlign(x uint32) uint32 { return SkbDataAlign(x) + shinfoAligned }

// SkbWithOverhead is SKB_WITH_OVERHEAD: the usable bytes of an allocation
// of x once skb_shared_info is taken off its end.
func SkbWithOverhead(x uint32) uint32 { return x - shinfoAligned }

// SkbTruesize is SKB_TRUESIZE: what an skb with x bytes of data costs its
// socket, counting the sk_buff and skb_shared_info.
func SkbTruesize(x uint32) uint32 { return x + skbAligned + shinfoAligned }
