package benchrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/vishvananda/netns"
)

// A bench killed outright (kill -9) cannot clean up after itself. Its
// namespaces and temporary files carry its process id, so the next bench
// removes what belongs to a process that is gone.

// filePrefix starts the name of the bench's temporary directory, of the
// recorder's traces and of the disk load's file; "<pid>-" follows.
const filePrefix = "stackscope-bench-"

// removeStale deletes the namespaces, temporary directories, traces and
// disk load files (in traceDir, if set) of benches whose process is gone.
func removeStale(traceDir string) {
	if entries, err := os.ReadDir("/var/run/netns"); err == nil {
		for _, e := range entries {
			if pid, ok := stalePid(e.Name(), nsPrefix); ok && !alive(pid) {
				_ = netns.DeleteNamed(e.Name())
			}
		}
	}
	removeStaleFiles(os.TempDir())
	if traceDir != "" {
		removeStaleFiles(traceDir)
	}
}

// removeStaleFiles deletes the files and directories in dir whose names
// carry the process id of a bench that is gone: its temporary directory,
// the recorder's traces and the disk load's file.
func removeStaleFiles(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if pid, ok := stalePid(e.Name(), filePrefix); ok && !alive(pid) {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// stalePid reads the process id that follows prefix in name: the digits
// up to the first non-digit. ok is false for names of other programs and
// for this process's own.
func stalePid(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	pid, err := strconv.Atoi(rest[:end])
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return 0, false
	}
	return pid, true
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) state ...: the state follows the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}
