package stack

import (
	"math/rand/v2"

	"github.com/stackscope/stackscope/tracing"
)

// random is the kernel's entropy pool, replaced by a generator seeded from
// the kernel's seed so that hash secrets, ISNs and port offsets repeat from
// run to run.
type random struct {
	r *rand.Rand
}

func newRandom(seed uint64) *random {
	return &random{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// GetRandomU32 is get_random_u32.
func (k *Kernel) GetRandomU32() uint32 {
	k.tr.Enter(fnGetRandomU32)
	v := k.rnd.r.Uint32()
	k.tr.Exit(fnGetRandomU32, tracing.Uint(uint64(v)))
	return v
}

// GetRandomU32Below is get_random_u32_below: uniform in [0, ceil).
func (k *Kernel) GetRandomU32Below(ceil uint32) uint32 {
	if ceil == 0 {
		return 0
	}
	k.tr.Enter1(fnGetRandomU32Below, tracing.Int(int64(ceil)))
	v := k.rnd.r.Uint32N(ceil)
	k.tr.Exit(fnGetRandomU32Below, tracing.Int(int64(v)))
	return v
}
