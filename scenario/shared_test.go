package scenario

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir is the packetdrill corpus beside the repository (see
// ../shared/packetdrill/README.md); tests that read it skip without it.
const sharedDir = "../../shared/packetdrill"

func sharedScripts(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(sharedDir); err != nil {
		t.Skipf("no shared packetdrill corpus at %s", sharedDir)
	}
	files, err := filepath.Glob(filepath.Join(sharedDir, "tcp", "*", "*.pkt"))
	if err != nil || len(files) == 0 {
		t.Skipf("no scripts under %s", sharedDir)
	}
	return files
}
