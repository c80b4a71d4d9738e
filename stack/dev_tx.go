package stack

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/stackscope/stackscope/skb"
	"github.com/stackscope/stackscope/stack/netdev"
)

// txQueue holds what a device with deferred transmit completion
// (netdev.Device.TxAsync) has been given and not yet reported done: a real
// NIC frees a sent skb from its TX-completion interrupt (virtio-net with
// its TX NAPI, the default, once the host has consumed the buffer). Until
// then the skb stays alive, and a TCP skb keeps its bytes in its socket's
// sk_wmem_alloc, which is what autocorking and TCP Small Queues look at.
// (Linux's own tun.c does the opposite: it orphans an skb as it queues it,
// because the reader may never come.)
type txQueue struct {
	dev     *netdev.Device
	pending []*skb.SkBuff // oldest first
	// done counts completions the driver reported from its own goroutine
	// that the loop has not taken yet.
	done atomic.Int64
}

// txQueueOf returns dev's completion queue, making it (and telling the
// driver where to report) the first time.
func (k *Kernel) txQueueOf(dev *netdev.Device) *txQueue {
	for _, q := range k.txqs {
		if q.dev == dev {
			return q
		}
	}
	q := &txQueue{dev: dev}
	k.txqs = append(k.txqs, q)
	if c, ok := dev.Driver.(netdev.TxCompleter); ok {
		c.SetTxDone(func(n int) {
			q.done.Add(int64(n))
			select {
			case k.txDoorbell <- struct{}{}:
			default: // rung already: the loop reads every count when it answers
			}
		})
	}
	return q
}

// txHold keeps a transmitted skb until its device reports it done.
func (k *Kernel) txHold(dev *netdev.Device, s *skb.SkBuff) {
	q := k.txQueueOf(dev)
	q.pending = append(q.pending, s)
}

// txDoorbellRang takes the completions the drivers reported, device by
// device in the order they first sent, each as one recorded input.
func (k *Kernel) txDoorbellRang() {
	for _, q := range k.txqs {
		if n := q.done.Swap(0); n > 0 {
			k.txCompletion(q, int(n))
		}
	}
}

// txCompletion is a device's TX-completion work for its n oldest packets
// (a driver's clean-up of its TX ring, then the TASKLET_SOFTIRQ that TCP
// Small Queues schedules from tcp_wfree): each skb is consumed, which
// gives its bytes back to its socket, and sockets that held data back
// for this moment send it.
func (k *Kernel) txCompletion(q *txQueue, n int) {
	if k.rec != nil && k.recBegin(recTxDone, func(b []byte) []byte {
		b = binary.AppendUvarint(b, uint64(q.dev.Ifindex))
		return binary.AppendUvarint(b, uint64(n))
	}) {
		defer k.recEnd()
	}
	n = min(n, len(q.pending))
	done := q.pending[:n]
	for _, s := range done {
		_ = skb.ConsumeSkb(s)
	}
	clear(done)
	q.pending = q.pending[n:]
	if len(q.pending) == 0 {
		q.pending = q.pending[:0:0] // let the backing array go
	}
	k.doSoftirq() // TCP Small Queues' tasklet, then what loopback queued
}
