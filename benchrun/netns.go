package benchrun

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// nsPrefix starts the name of every namespace the bench makes; the
// process id follows, so a namespace left by a bench that was killed can
// be told from one a running bench uses.
const nsPrefix = "stkbench"

// nsThread is a network namespace the bench created, with an OS thread
// that lives in it: work that must happen inside the namespace (creating
// sockets and devices, starting child processes, writing its sysctls)
// runs there. Sockets and devices made there stay in the namespace when
// used from other threads.
type nsThread struct {
	name string
	work chan func()
	quit chan struct{}
	done chan struct{}
}

// newNamespace creates the named namespace (it must not exist), brings its
// loopback up and starts the thread in it.
func newNamespace(name string) (*nsThread, error) {
	if _, err := netns.GetFromName(name); err == nil {
		return nil, fmt.Errorf("network namespace %s exists already; remove it with: ip netns delete %s", name, name)
	}
	t := &nsThread{name: name, work: make(chan func()), quit: make(chan struct{}), done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		defer close(t.done)
		// The thread is never unlocked: it ends with the goroutine, so no
		// other goroutine ever runs inside the namespace by accident.
		runtime.LockOSThread()
		ns, err := netns.NewNamed(name)
		if err != nil {
			if errors.Is(err, os.ErrPermission) {
				err = ErrNoPrivilege
			}
			started <- fmt.Errorf("create network namespace %s: %w", name, err)
			return
		}
		ns.Close()
		if lo, err := netlink.LinkByName("lo"); err == nil {
			_ = netlink.LinkSetUp(lo)
		}
		started <- nil
		for {
			select {
			case fn := <-t.work:
				fn()
			case <-t.quit:
				return
			}
		}
	}()
	if err := <-started; err != nil {
		<-t.done
		_ = netns.DeleteNamed(name) // NewNamed may have got as far as the mount
		return nil, err
	}
	return t, nil
}

// Do runs fn on the namespace's thread and returns its error.
func (t *nsThread) Do(fn func() error) error {
	res := make(chan error, 1)
	select {
	case t.work <- func() { res <- fn() }:
		return <-res
	case <-t.done:
		return fmt.Errorf("network namespace %s: closed", t.name)
	}
}

// Close ends the thread and deletes the namespace; what is in it (veth
// ends, routes) goes with it once no process holds it.
func (t *nsThread) Close() error {
	close(t.quit)
	<-t.done
	if err := netns.DeleteNamed(t.name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete network namespace %s: %w", t.name, err)
	}
	return nil
}

// handle opens the namespace, for netlink calls aimed at it.
func (t *nsThread) handle() (*netlink.Handle, error) {
	ns, err := netns.GetFromName(t.name)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", t.name, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", t.name, err)
	}
	return h, nil
}

// writeSysctl writes a /proc/sys/net value of the namespace (they are
// per namespace, and /proc/sys/net shows the opening thread's).
func (t *nsThread) writeSysctl(path, value string) error {
	return t.Do(func() error {
		if err := os.WriteFile(filepath.Join("/proc/sys", path), []byte(value), 0); err != nil {
			return fmt.Errorf("sysctl %s in %s: %w", strings.ReplaceAll(path, "/", "."), t.name, err)
		}
		return nil
	})
}

// configureLink gives a link in the namespace an address and MTU and
// brings it up.
func configureLink(h *netlink.Handle, name string, addr netip.Prefix, mtu int) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netlink: find %s: %w", name, err)
	}
	if err := h.LinkSetMTU(link, mtu); err != nil {
		return fmt.Errorf("netlink: set the MTU of %s to %d: %w", name, mtu, err)
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}}
	if err := h.AddrReplace(link, a); err != nil {
		return fmt.Errorf("netlink: add %s to %s: %w", addr, name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("netlink: set %s up: %w", name, err)
	}
	return nil
}

// setMTU sets a link's MTU in the namespace.
func setMTU(h *netlink.Handle, name string, mtu int) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netlink: find %s: %w", name, err)
	}
	if err := h.LinkSetMTU(link, mtu); err != nil {
		return fmt.Errorf("netlink: set the MTU of %s to %d: %w", name, mtu, err)
	}
	return nil
}
