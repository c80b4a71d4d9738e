package scenario

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
)

// runSyscall starts a line's system call in the script's process. A call
// that returns at once is checked at once; one that sleeps is left to
// return later, within its line's time range, while the script goes on.
func (r *Runner) runSyscall(ev *Event, start, end int64) error {
	if ev.Unsupported != "" {
		return r.fail(ev, "unsupported system call %s: the runner has %s", ev.Unsupported, strings.Join(knownSyscalls, ", "))
	}
	if b := r.blocked; b != nil {
		return r.fail(ev, "%s while %s (line %d) is still blocked: a script may have one blocking call at a time",
			callName(ev), callName(b.ev), b.ev.Line)
	}
	sc := *ev.Syscall.Syscall
	if (sc.Name == "connect" || sc.Name == "sendto" && sc.HasAddr) && !sc.Addr.Addr.IsValid() {
		sc.Addr = sockets.SockaddrIn{Family: sockets.AF_INET, Addr: RemoteAddr, Port: ConnectPort}
	}
	if sc.Name == "bind" && !sc.Addr.Addr.IsValid() {
		sc.Addr.Addr = LocalAddr
	}
	r.mapFds(&sc)
	if sc.Name == "connect" {
		r.lastFd = sc.Args[0]
	}
	pd := r.p.Start(sc)
	if err := r.k.Sync(); err != nil {
		return err
	}
	b := &blockedCall{ev: ev, pd: pd, start: start, end: end}
	if !pd.Ready() {
		r.blocked = b
		r.printf("  (blocked)\n")
		return nil
	}
	return r.returned(b)
}

// mapFds turns the script's file descriptors into the kernel's.
func (r *Runner) mapFds(sc *stack.Syscall) {
	live := func(fd int64) int64 {
		if l, ok := r.fds[fd]; ok {
			return l
		}
		return fd
	}
	switch sc.Name {
	case "socket":
	case "poll":
		fds := make([]stack.PollFd, len(sc.Fds))
		for i, f := range sc.Fds {
			f.Fd = int32(live(int64(f.Fd)))
			fds[i] = f
		}
		sc.Fds = fds
	default:
		sc.Args[0] = live(sc.Args[0])
	}
}

// checkBlocked checks a blocked call that has returned since the last look.
func (r *Runner) checkBlocked() error {
	b := r.blocked
	if b == nil || !b.pd.Ready() {
		return nil
	}
	r.blocked = nil
	now, err := r.Now()
	if err != nil {
		return err
	}
	r.flushGraph()
	r.printf("%s (line %d returns) %s\n", stamp(now), b.ev.Line, b.ev.Text)
	return r.returned(b)
}

// returned checks a call's result and when it returned.
func (r *Runner) returned(b *blockedCall) error {
	ev := b.ev
	sc := ev.Syscall.Syscall
	ret, err := b.pd.Wait()
	if errors.Is(err, stack.ErrStopped) {
		return err
	}
	r.flushGraph()
	r.printf("  %s\n", formatResult(sc, ret, err, b.pd))
	if err == nil && (sc.Name == "socket" || sc.Name == "accept4") {
		r.lastFd = ret
		// packetdrill keeps the script's numbering of file descriptors and
		// maps it onto the ones the kernel hands out.
		if exp := ev.Syscall.Expect; exp != nil && exp.Ret >= 0 && exp.Errno == "" {
			r.fds[exp.Ret] = ret
			ret = exp.Ret
		}
	}
	if exp := ev.Syscall.Expect; exp != nil && !expectationHolds(exp, sc, ret, err) {
		got := fmt.Sprintf("%d", ret)
		if err != nil {
			got = "-1 with errno " + errnoText(err)
		} else if sc.Name == "getsockopt" {
			got = "0"
		}
		return r.fail(ev, "runtime error in %s call: expected result %s but got %s", callName(ev), formatExpectation(exp)[2:], got)
	}
	if err == nil {
		if msg := optvalMismatch(ev, b.pd.Opt()); msg != "" {
			return r.fail(ev, "runtime error in %s call: %s", sc.Name, msg)
		}
	}
	now, nerr := r.Now()
	if nerr != nil {
		return nerr
	}
	if ev.Time.Kind == TimeAny {
		return nil
	}
	tol := r.toleranceFor(b.start)
	if now < b.start-tol || now > b.end+tol {
		want := "at " + stamp(b.start) + " sec"
		if ev.Time.Range {
			want = "in time range " + stamp(b.start) + "~" + stamp(b.end) + " sec"
		}
		return r.fail(ev, "timing error: expected system call return %s but happened at %s sec; tolerance %s sec", want, stamp(now), stamp(tol))
	}
	return nil
}

// optvalMismatch compares what a getsockopt or ioctl call reported through
// its pointer with what its line expects, as packetdrill does: an int, or
// a string whose length is the optlen the kernel gave back. It returns
// the complaint, or "".
func optvalMismatch(ev *Event, got sockets.Optval) string {
	sc := ev.Syscall.Syscall
	if want := ev.ExpectOpt; want != nil && got.Int != *want {
		return fmt.Sprintf("bad %s optval: expected: %d actual: %d", sc.Name, *want, got.Int)
	}
	if want := ev.ExpectStr; want != nil {
		if optlen := sc.Args[3]; optlen != int64(len(got.Bytes)) {
			return fmt.Sprintf("bad getsockopt optlen: expected: %d actual: %d", optlen, len(got.Bytes))
		}
		if int64(len(*want)) != sc.Args[3] {
			return fmt.Sprintf("bad getsockopt optval: expected optlen (%d bytes) does not match length of expected "+
				"optval string %q (%d bytes)", sc.Args[3], *want, len(*want))
		}
		if string(got.Bytes) != *want {
			return fmt.Sprintf("bad getsockopt optval: expected: %q actual: %q", *want, got.Bytes)
		}
	}
	return ""
}

func errnoText(err error) string {
	var e sockets.Errno
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}

// runCode evaluates a %{ }% block's asserts against TCP_INFO of the
// socket the script last created, accepted or connected.
func (r *Runner) runCode(ev *Event) error {
	c := ev.Code
	for _, o := range c.Other {
		r.note(ev.Line, "unsupported statement in a %%{ }%% block, ignored: %s", o)
	}
	if len(c.Asserts) == 0 {
		return nil
	}
	if r.lastFd < 0 {
		return r.fail(ev, "a %%{ }%% block needs a socket, and the script has none yet")
	}
	info, err := r.p.TCPInfo(int(r.lastFd))
	if err != nil {
		return r.fail(ev, "getsockopt(%d, SOL_TCP, TCP_INFO) for the %%{ }%% block: %v", r.lastFd, err)
	}
	v := reflect.ValueOf(info).Elem()
	for _, a := range c.Asserts {
		f := v.FieldByName(tcpiGoName(a.Field))
		if !f.IsValid() {
			return r.fail(ev, "unsupported: struct tcp_info has no field %s in the model", a.Field)
		}
		var got int64
		if f.CanInt() {
			got = f.Int()
		} else {
			got = int64(f.Uint())
		}
		if !a.Holds(got) {
			return r.fail(ev, "assertion failed: %s (%s is %d)", a.Text, a.Field, got)
		}
		r.printf("  %s: %s = %d\n", a.Text, a.Field, got)
	}
	return nil
}

// tcpiGoName turns tcpi_snd_cwnd into TcpiSndCwnd.
func tcpiGoName(field string) string {
	var b strings.Builder
	for _, part := range strings.Split(field, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// defaultsSysctls are the settings of packetdrill's common/defaults.sh, the
// preset every script of its corpus includes, in its order.
var defaultsSysctls = []SysctlSetting{
	{"net.ipv4.tcp_rmem", "4096 540000 15728640"},
	{"net.ipv4.tcp_wmem", "4096 262144 4194304"},
	{"net.ipv4.tcp_timestamps", "1"},
	{"net.ipv4.tcp_syn_retries", "5"},
	{"net.ipv4.tcp_synack_retries", "5"},
	{"net.ipv4.tcp_frto", "2"},
	{"net.ipv4.tcp_sack", "1"},
	{"net.ipv4.tcp_dsack", "1"},
	{"net.ipv4.tcp_fack", "0"},
	{"net.ipv4.tcp_reordering", "3"},
	{"net.ipv4.tcp_congestion_control", "cubic"},
	{"net.ipv4.tcp_slow_start_after_idle", "0"},
	{"net.ipv4.tcp_early_retrans", "4"},
	{"net.ipv4.tcp_recovery", "1"},
	{"net.ipv4.tcp_tso_win_divisor", "3"},
	{"net.ipv4.tcp_ecn", "0"},
	{"net.ipv4.tcp_ecn_option", "2"},
	{"net.ipv4.tcp_pacing_ss_ratio", "200"},
	{"net.ipv4.tcp_pacing_ca_ratio", "120"},
	{"net.ipv4.tcp_notsent_lowat", "4294967295"},
	{"net.ipv4.tcp_fastopen", "0x70403"},
	{"net.ipv4.tcp_syncookies", "1"},
}

// runShell applies what a backtick block sets. No shell runs: an include
// of defaults.sh applies its sysctls, a sysctl line its setting; the
// kernel's missing sysctls and every other command become notes.
func (r *Runner) runShell(ev *Event) error {
	sh := ev.Shell
	for _, inc := range sh.Includes {
		if strings.HasSuffix(inc, "defaults.sh") {
			r.applySysctls(ev, defaultsSysctls)
			continue
		}
		if strings.Contains(inc, "sysctl_restore") {
			continue // the scripts' own clean-up: each run has a fresh kernel
		}
		r.note(ev.Line, "shell script %s: unsupported, ignored (no shell runs)", inc)
	}
	r.applySysctls(ev, sh.Sysctls)
	for _, o := range sh.Other {
		r.note(ev.Line, "shell command %q: unsupported, ignored (no shell runs)", o)
	}
	return nil
}

func (r *Runner) applySysctls(ev *Event, list []SysctlSetting) {
	for _, s := range list {
		v := s.Value
		if _, err := r.k.Sysctl(s.Name, &v); err != nil {
			if strings.Contains(err.Error(), "unknown sysctl") {
				r.note(ev.Line, "sysctl %s=%s: unsupported by the model, ignored", s.Name, s.Value)
			} else {
				r.note(ev.Line, "sysctl %s=%s: not applied: %v", s.Name, s.Value, err)
			}
			continue
		}
		r.printf("  sysctl %s = %s\n", s.Name, s.Value)
	}
}
