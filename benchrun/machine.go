package benchrun

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// Machine describes the machine in one line: CPU model, cores, kernel
// release and the Go the bench was built with.
func Machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cpu = cpuModel(string(b))
	}
	kernel := "Linux"
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		kernel = "Linux " + utsString(u.Release[:])
	}
	return fmt.Sprintf("%s, %d cores, %s, %s %s/%s", cpu, runtime.NumCPU(), kernel, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// cpuModel returns the first "model name" of /proc/cpuinfo text.
func cpuModel(cpuinfo string) string {
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func utsString(b []int8) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}
