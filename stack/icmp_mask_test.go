package stack

import "testing"

// icmpv4_mask_allow: fragmentation needed is never rate limited (path MTU
// discovery depends on it), nor types beyond NR_ICMP_TYPES or those
// icmp_ratemask leaves out; icmpv4_global_allow then asks for no per-host
// limit either.
func TestIcmpMaskAllow(t *testing.T) {
	f := boot(t, Config{})
	if _, err := control(f.k, "mask", true, func(k *Kernel) (int, error) {
		k.icmpRl.globalCredit = -5 // an empty global bucket
		for _, tc := range []struct {
			typ, code uint8
			limited   bool
		}{{3, 4, false}, {3, 3, true}, {11, 0, true}, {12, 0, true}, {0, 0, false}, {40, 0, false}} {
			if got := !icmpv4MaskAllow(tc.typ, tc.code); got != tc.limited {
				t.Errorf("type %d code %d: limited %v, want %v", tc.typ, tc.code, got, tc.limited)
			}
			ok, apply := k.icmpv4GlobalAllow(tc.typ, tc.code)
			if !tc.limited && (!ok || apply) {
				t.Errorf("type %d code %d: allowed %v, apply_ratelimit %v: want true, false", tc.typ, tc.code, ok, apply)
			}
		}
		return 0, nil
	}); err != nil {
		t.Fatal(err)
	}
}
