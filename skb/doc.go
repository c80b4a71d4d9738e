// Package skb models struct sk_buff, struct skb_shared_info and struct
// sk_buff_head (include/linux/skbuff.h, net/core/skbuff.c) with the kernel's
// semantics and names.
//
// An sk_buff's header struct comes from the skbuff_head_cache slab (or, for
// an fclone pair, skbuff_fclone_cache) and its data buffer from
// skbuff_small_head or kmalloc, through the slab package, so every pointer
// the UI shows (head, data, tail, end, the skb itself, skb_shared_info) is
// a synthetic kernel address that adds up. The bytes of the buffer are real
// memory owned by the slab model.
//
// Offsets follow NET_SKBUFF_DATA_USES_OFFSET (64-bit builds): tail and end
// are offsets from head, the header marks (mac_header, network_header,
// transport_header) are u16 offsets from head, and data is a pointer (here:
// an offset from head, with Data returning the address).
//
// What the kernel catches with BUG() (skb_over_panic, skb_under_panic,
// pulling into paged data, expanding a shared skb) is returned here as an
// error naming the offsets, with the skb left unchanged, and reported as a
// trace point.
//
// Config constants (MAX_TCP_HEADER and the skbuff_small_head size depend on
// the kernel config) follow the reference x86-64 6.x machine of KERNEL.md,
// whose skbuff_small_head holds 576-byte objects.
//
// Left out: page pools and pp_recycle, zero-copy (ubuf_info), skb
// extensions, GSO segmentation (a later issue), checksum state.
package skb
