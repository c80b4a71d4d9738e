package scenario

import (
	"strings"
	"testing"
)

// TestBuiltinsPass runs every built-in scenario as CI does: each must pass,
// and (the scripts are written for stackscope) leave no packet unmatched.
func TestBuiltinsPass(t *testing.T) {
	list, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 12 {
		t.Fatalf("%d built-in scenarios, want at least 12", len(list))
	}
	for _, b := range list {
		t.Run(b.Name, func(t *testing.T) {
			if b.Description == "" || strings.HasSuffix(b.Description, ":") {
				t.Errorf("no one-line description: %q", b.Description)
			}
			s, err := b.Parse()
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewRunner(s, WithStrictEnd())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.Run(); err != nil {
				t.Fatal(err)
			}
			if n := r.Notes(); len(n) > 0 {
				t.Errorf("the runner ignored parts of the script:\n%s", strings.Join(n, "\n"))
			}
		})
	}
}

func TestLookupBuiltin(t *testing.T) {
	b, ok := LookupBuiltin("handshake")
	if !ok || b.Name != "handshake" || !strings.HasPrefix(b.Description, "Passive open") || !strings.Contains(b.Text, "listen(3, 8)") {
		t.Errorf("handshake: %v %+v", ok, b)
	}
	for _, name := range []string{"", "nope", "../builtin/handshake", "builtin/handshake", "*"} {
		if _, ok := LookupBuiltin(name); ok {
			t.Errorf("LookupBuiltin(%q) found a scenario", name)
		}
	}
}

func TestFirstComment(t *testing.T) {
	for in, want := range map[string]string{
		"// One line.\n// more\n0 socket": "One line.",
		"\n\n  //   Spaced  \n":           "Spaced",
		"0 socket(...)\n// late":          "",
		"":                                "",
	} {
		if got := firstComment(in); got != want {
			t.Errorf("firstComment(%q) = %q, want %q", in, got, want)
		}
	}
}
