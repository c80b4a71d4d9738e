package stack

import "testing"

// TestEveryMibHasAName: the name table keeps pace with the counters (a
// counter added without its name would print as an empty column).
func TestEveryMibHasAName(t *testing.T) {
	seen := map[string]bool{}
	for m := Mib(0); m < numMibs; m++ {
		name := m.String()
		if mibNames[m][0] == "" || mibNames[m][1] == "" || seen[name] {
			t.Errorf("counter %d: name %q (empty or repeated)", m, name)
		}
		seen[name] = true
	}
}
