package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/ui"
)

// TestReadmeListsEveryKey: the README's key table names every key of the
// inspector's keymap (as its help shows it), so the docs keep up.
func TestReadmeListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, g := range ui.DefaultKeys().Global() {
		for _, k := range g {
			for _, name := range strings.Split(k.Help().Key, "/") {
				if !strings.Contains(readme, "`"+name+"`") {
					t.Errorf("README's key table lacks `%s` (%s)", name, k.Help().Desc)
				}
			}
		}
	}
}
