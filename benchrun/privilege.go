package benchrun

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrNoPrivilege says the bench cannot make its namespaces and devices.
var ErrNoPrivilege = errors.New("stackscope bench needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN: it creates network " +
	"namespaces, TUN devices and a veth pair (all its traffic stays inside them); run it as root, e.g. sudo stackscope bench")

// Linux capability numbers (include/uapi/linux/capability.h).
const (
	capNetAdmin = 12
	capSysAdmin = 21
)

// CheckPrivilege returns ErrNoPrivilege unless the process holds
// CAP_NET_ADMIN and CAP_SYS_ADMIN in its effective set.
func CheckPrivilege() error {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return fmt.Errorf("read /proc/self/status to check capabilities: %w", err)
	}
	return privilegeIn(string(b))
}

// privilegeIn checks the capabilities /proc/self/status text shows.
func privilegeIn(status string) error {
	eff, ok := effectiveCaps(status)
	if !ok {
		return fmt.Errorf("no CapEff line in /proc/self/status: cannot tell whether the bench may create namespaces")
	}
	if eff&(1<<capNetAdmin) == 0 || eff&(1<<capSysAdmin) == 0 {
		return ErrNoPrivilege
	}
	return nil
}

// effectiveCaps reads the CapEff mask from /proc/PID/status text.
func effectiveCaps(status string) (uint64, bool) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}
