package benchrun

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GvisorDir is where the gVisor peer's module lives in a checkout.
const GvisorDir = "bench/gvisor"

// FindGvisorSource looks for bench/gvisor (with its go.mod) in dir and
// the directories above it, so the bench finds it from anywhere in a
// checkout.
func FindGvisorSource(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, GvisorDir)
		if _, err := os.Stat(filepath.Join(cand, "go.mod")); err == nil {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("no %s/go.mod in %s or above it: run the bench from a stackscope checkout, "+
		"pass --gvisor-src DIR or --gvisor-bin FILE, or leave gVisor out with --peers", GvisorDir, abs)
}

// BuildGvisor builds the gVisor peer from its module directory src into
// dir with `go build` and returns the binary's path.
func BuildGvisor(src, dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("the gVisor peer is built with Go, and no go is on PATH: install Go, " +
			"pass --gvisor-bin FILE (built with: cd bench/gvisor && go build), or leave gVisor out with --peers")
	}
	out := filepath.Join(dir, "gvisor-peer")
	cmd := exec.Command(goTool, "build", "-o", out, ".")
	cmd.Dir = src
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the gVisor peer (cd %s && go build): %w\n%s\n(the module needs gvisor.dev/gvisor from the Go module proxy; "+
			"pass --gvisor-bin FILE or leave gVisor out with --peers)", src, err, strings.TrimSpace(msg.String()))
	}
	return out, nil
}
