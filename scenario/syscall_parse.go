package scenario

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/stack"
)

// SyntaxError points at the line and column where a line stopped making
// sense.
type SyntaxError struct {
	File   string
	Line   int
	Column int // 1-based
	Msg    string
	Text   string // the line
}

func (e *SyntaxError) Error() string {
	where := fmt.Sprintf("line %d, column %d", e.Line, e.Column)
	if e.File != "" {
		where = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	return fmt.Sprintf("%s: %s", where, e.Msg)
}

// Caret returns the line with a caret under the column, for terminals.
func (e *SyntaxError) Caret() string {
	if e.Text == "" {
		return ""
	}
	return e.Text + "\n" + strings.Repeat(" ", max(e.Column-1, 0)) + "^"
}

// Command is one console line.
type Command struct {
	Line int
	Text string
	// Time is the packetdrill timestamp before the call, if any.
	Time    *Timestamp
	Syscall *stack.Syscall
	// Expect is what the line says the call returns, if it says.
	Expect *Expectation
	// Sysctl is set for "sysctl name[=value]" lines.
	Sysctl *SysctlCmd
}

// Timestamp is packetdrill's time column: absolute ("0.100") or relative
// ("+.1"), in nanoseconds.
type Timestamp struct {
	Relative bool
	Ns       int64
}

// Expectation is "= 3" or "= -1 EAGAIN (...)".
type Expectation struct {
	Ret   int64
	Errno string // "EAGAIN", empty if none
}

// SysctlCmd reads or writes a tunable.
type SysctlCmd struct {
	Name  string
	Value *string
}

// symbols maps the constant names a script may use to their values.
var symbols = map[string]int64{
	"AF_INET": sockets.AF_INET, "AF_INET6": sockets.AF_INET6, "AF_UNIX": sockets.AF_UNIX,
	"AF_UNSPEC": sockets.AF_UNSPEC, "PF_INET": sockets.AF_INET, "AF_PACKET": sockets.AF_PACKET,
	"SOCK_STREAM": sockets.SOCK_STREAM, "SOCK_DGRAM": sockets.SOCK_DGRAM, "SOCK_RAW": sockets.SOCK_RAW,
	"SOCK_SEQPACKET": sockets.SOCK_SEQPACKET, "SOCK_NONBLOCK": sockets.SOCK_NONBLOCK, "SOCK_CLOEXEC": sockets.SOCK_CLOEXEC,
	"IPPROTO_IP": sockets.IPPROTO_IP, "IPPROTO_TCP": sockets.IPPROTO_TCP, "IPPROTO_UDP": sockets.IPPROTO_UDP,
	"IPPROTO_ICMP": sockets.IPPROTO_ICMP, "IPPROTO_RAW": sockets.IPPROTO_RAW,
	"SOL_SOCKET": sockets.SOL_SOCKET, "SOL_TCP": sockets.SOL_TCP,
	"SO_DEBUG": sockets.SO_DEBUG, "SO_BROADCAST": sockets.SO_BROADCAST, "SO_OOBINLINE": sockets.SO_OOBINLINE, "SO_PRIORITY": sockets.SO_PRIORITY,
	"SO_REUSEADDR": sockets.SO_REUSEADDR, "SO_REUSEPORT": sockets.SO_REUSEPORT, "SO_TYPE": sockets.SO_TYPE,
	"SO_ERROR": sockets.SO_ERROR, "SO_SNDBUF": sockets.SO_SNDBUF, "SO_RCVBUF": sockets.SO_RCVBUF,
	"SO_KEEPALIVE": sockets.SO_KEEPALIVE, "SO_LINGER": sockets.SO_LINGER, "SO_RCVLOWAT": sockets.SO_RCVLOWAT,
	"SO_ACCEPTCONN": sockets.SO_ACCEPTCONN, "SO_RCVTIMEO": sockets.SO_RCVTIMEO, "SO_SNDTIMEO": sockets.SO_SNDTIMEO, "SO_PROTOCOL": sockets.SO_PROTOCOL, "SO_DOMAIN": sockets.SO_DOMAIN, "SO_PEEK_OFF": sockets.SO_PEEK_OFF,
	"TCP_NODELAY": sockets.TCP_NODELAY, "TCP_MAXSEG": sockets.TCP_MAXSEG, "TCP_CORK": sockets.TCP_CORK,
	"TCP_KEEPIDLE": sockets.TCP_KEEPIDLE, "TCP_KEEPINTVL": sockets.TCP_KEEPINTVL, "TCP_KEEPCNT": sockets.TCP_KEEPCNT, "TCP_LINGER2": sockets.TCP_LINGER2,
	"TCP_SYNCNT": sockets.TCP_SYNCNT, "TCP_USER_TIMEOUT": sockets.TCP_USER_TIMEOUT, "TCP_QUICKACK": sockets.TCP_QUICKACK, "TCP_NOTSENT_LOWAT": sockets.TCP_NOTSENT_LOWAT,
	"TCP_INFO": sockets.TCP_INFO, "TCP_CONGESTION": sockets.TCP_CONGESTION,
	"TCP_WINDOW_CLAMP": sockets.TCP_WINDOW_CLAMP, "TCP_DEFER_ACCEPT": sockets.TCP_DEFER_ACCEPT, "SO_SNDLOWAT": sockets.SO_SNDLOWAT,
	"SIOCATMARK": sockets.SIOCATMARK,
	"SIOCINQ":    sockets.SIOCINQ, "FIONREAD": sockets.SIOCINQ, "SIOCOUTQ": sockets.SIOCOUTQ, "TIOCOUTQ": sockets.SIOCOUTQ,
	"SIOCOUTQNSD": sockets.SIOCOUTQNSD,
	"POLLIN":      sockets.POLLIN, "POLLPRI": sockets.POLLPRI, "POLLOUT": sockets.POLLOUT, "POLLERR": sockets.POLLERR,
	"POLLHUP": sockets.POLLHUP, "POLLNVAL": sockets.POLLNVAL, "POLLRDNORM": sockets.POLLRDNORM,
	"POLLRDBAND": sockets.POLLRDBAND, "POLLWRNORM": sockets.POLLWRNORM, "POLLWRBAND": sockets.POLLWRBAND,
	"POLLRDHUP": sockets.POLLRDHUP,
	"F_GETFL":   sockets.F_GETFL, "F_SETFL": sockets.F_SETFL, "F_GETFD": sockets.F_GETFD, "F_SETFD": sockets.F_SETFD,
	"FD_CLOEXEC": sockets.FD_CLOEXEC, "O_RDWR": sockets.O_RDWR, "O_NONBLOCK": sockets.O_NONBLOCK,
	"SHUT_RD": sockets.SHUT_RD, "SHUT_WR": sockets.SHUT_WR, "SHUT_RDWR": sockets.SHUT_RDWR,
	"MSG_PEEK": sockets.MSG_PEEK, "MSG_TRUNC": sockets.MSG_TRUNC, "MSG_DONTWAIT": sockets.MSG_DONTWAIT,
	"MSG_WAITALL": sockets.MSG_WAITALL, "MSG_NOSIGNAL": sockets.MSG_NOSIGNAL, "MSG_MORE": sockets.MSG_MORE,
	"MSG_OOB": sockets.MSG_OOB, "MSG_EOR": sockets.MSG_EOR, "MSG_ERRQUEUE": sockets.MSG_ERRQUEUE, "MSG_FASTOPEN": sockets.MSG_FASTOPEN,
}

// lexer walks one line.
type lexer struct {
	text string
	pos  int
	line int
	file string
}

func (l *lexer) fail(format string, args ...any) *SyntaxError {
	return &SyntaxError{File: l.file, Line: l.line, Column: l.pos + 1, Msg: fmt.Sprintf(format, args...), Text: l.text}
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.text) && (l.text[l.pos] == ' ' || l.text[l.pos] == '\t') {
		l.pos++
	}
}

func (l *lexer) peek() byte {
	l.skipSpace()
	if l.pos >= len(l.text) {
		return 0
	}
	return l.text[l.pos]
}

func (l *lexer) accept(s string) bool {
	l.skipSpace()
	if strings.HasPrefix(l.text[l.pos:], s) {
		l.pos += len(s)
		return true
	}
	return false
}

func (l *lexer) expect(s, what string) *SyntaxError {
	if !l.accept(s) {
		return l.fail("expected %q %s", s, what)
	}
	return nil
}

// word reads an identifier, number, address or the like: everything up to
// a delimiter.
func (l *lexer) word() string {
	l.skipSpace()
	start := l.pos
	for l.pos < len(l.text) && !strings.ContainsRune(" \t,()[]{}=", rune(l.text[l.pos])) {
		l.pos++
	}
	return l.text[start:l.pos]
}

// value reads an integer argument: a number, a constant, constants joined
// with |, or [N] (packetdrill's pointer-to-int).
func (l *lexer) value(what string) (int64, *SyntaxError) {
	if l.accept("[") {
		v, err := l.value(what)
		if err != nil {
			return 0, err
		}
		return v, l.expect("]", "to close "+what)
	}
	start := l.pos
	w := l.word()
	if w == "" {
		l.pos = start
		return 0, l.fail("expected %s", what)
	}
	var total int64
	for _, part := range strings.Split(w, "|") {
		if n, err := strconv.ParseInt(part, 0, 64); err == nil {
			total |= n
			continue
		}
		v, ok := symbols[part]
		if !ok {
			l.pos = start
			return 0, l.fail("unknown %s %q", what, part)
		}
		total |= v
	}
	return total, nil
}

// ellipsis accepts "..." (any value, packetdrill's wildcard).
func (l *lexer) ellipsis() bool { return l.accept("...") }

// wildcard accepts "..." or "[...]".
func (l *lexer) wildcard() bool {
	start := l.pos
	if l.ellipsis() || l.accept("[") && l.ellipsis() && l.accept("]") {
		return true
	}
	l.pos = start
	return false
}

// str reads a C string literal, "reno", with the escapes \\, \", \n,
// \t, \0 and \xHH.
func (l *lexer) str() (string, *SyntaxError) {
	if err := l.expect(`"`, "to open a string"); err != nil {
		return "", err
	}
	var b strings.Builder
	for l.pos < len(l.text) {
		c := l.text[l.pos]
		l.pos++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if l.pos >= len(l.text) {
				return "", l.fail("a string ends in a lone backslash")
			}
			e := l.text[l.pos]
			l.pos++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '0':
				b.WriteByte(0)
			case 'x':
				if l.pos+2 > len(l.text) {
					return "", l.fail("\\x needs two hex digits")
				}
				v, err := strconv.ParseUint(l.text[l.pos:l.pos+2], 16, 8)
				if err != nil {
					return "", l.fail("\\x needs two hex digits, not %q", l.text[l.pos:l.pos+2])
				}
				l.pos += 2
				b.WriteByte(byte(v))
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", l.fail("unclosed string")
}

// skipArg consumes one argument the console does not need: a bracketed
// group, a string, "..." or a word.
func (l *lexer) skipArg() *SyntaxError {
	l.skipSpace()
	if l.pos >= len(l.text) {
		return nil
	}
	switch l.text[l.pos] {
	case '"':
		_, err := l.str()
		return err
	case '[', '{':
		depth := 0
		for l.pos < len(l.text) {
			c := l.text[l.pos]
			l.pos++
			if c == '[' || c == '{' {
				depth++
			} else if c == ']' || c == '}' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		return nil
	}
	if !l.ellipsis() {
		l.word()
	}
	return nil
}

func (l *lexer) comma(after string) *SyntaxError { return l.expect(",", "after "+after) }

// ParseLine parses one console line. Blank lines and comments give nil.
func ParseLine(file string, n int, text string) (*Command, error) {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" || strings.HasPrefix(trimmed, "//") || strings.HasPrefix(trimmed, "#") {
		return nil, nil
	}
	l := &lexer{text: text, line: n, file: file}
	cmd := &Command{Line: n, Text: trimmed}
	if c := l.peek(); c == '+' || (c >= '0' && c <= '9') || c == '.' {
		ts, err := l.timestamp()
		if err != nil {
			return nil, err
		}
		cmd.Time = ts
	}
	start := l.pos
	name := l.word()
	if name == "sysctl" {
		l.skipSpace()
		rest := strings.TrimSpace(l.text[l.pos:])
		if rest == "" {
			return nil, l.fail("sysctl needs a name, such as net.core.somaxconn or net.core.somaxconn=64")
		}
		k, v, has := strings.Cut(rest, "=")
		sc := &SysctlCmd{Name: strings.TrimSpace(k)}
		if has {
			val := strings.TrimSpace(v)
			sc.Value = &val
		}
		cmd.Sysctl = sc
		return cmd, nil
	}
	if name == "" {
		return nil, l.fail("expected a system call such as socket(..., SOCK_STREAM, IPPROTO_TCP)")
	}
	if err := l.expect("(", "after "+name); err != nil {
		return nil, err
	}
	sc, err := l.syscallArgs(name, start)
	if err != nil {
		return nil, err
	}
	if err := l.expect(")", "to close the arguments of "+name); err != nil {
		return nil, err
	}
	cmd.Syscall = sc
	if l.accept("=") {
		exp, err := l.expectation()
		if err != nil {
			return nil, err
		}
		cmd.Expect = exp
	}
	l.skipSpace()
	if l.pos < len(l.text) && !strings.HasPrefix(l.text[l.pos:], "//") {
		return nil, l.fail("unexpected %q after the call", l.text[l.pos:])
	}
	return cmd, nil
}

func (l *lexer) timestamp() (*Timestamp, *SyntaxError) {
	ts := &Timestamp{Relative: l.accept("+")}
	w := l.word()
	sec, err := strconv.ParseFloat(w, 64)
	if err != nil || sec < 0 {
		return nil, l.fail("bad time %q: use seconds such as 0, 1.5 or +.1", w)
	}
	ts.Ns = int64(sec*1e9 + 0.5)
	return ts, nil
}

func (l *lexer) expectation() (*Expectation, *SyntaxError) {
	n, err := l.value("return value")
	if err != nil {
		return nil, err
	}
	exp := &Expectation{Ret: n}
	if n == -1 {
		l.skipSpace()
		exp.Errno = l.word()
		if exp.Errno == "" {
			return nil, l.fail("expected an errno name such as EAGAIN after -1")
		}
		if l.accept("(") {
			if i := strings.IndexByte(l.text[l.pos:], ')'); i >= 0 {
				l.pos += i + 1
			} else {
				return nil, l.fail("unclosed '(' in the errno text")
			}
		}
	}
	return exp, nil
}

// address reads ADDR:PORT, or "..." for packetdrill's default local
// address (0.0.0.0:8080).
func (l *lexer) address() (sockets.SockaddrIn, *SyntaxError) {
	if l.ellipsis() {
		return sockets.SockaddrIn{Family: sockets.AF_INET, Port: 8080}, nil
	}
	start := l.pos
	w := l.word()
	ap, err := netip.ParseAddrPort(w)
	if err != nil {
		l.pos = start
		l.skipSpace()
		return sockets.SockaddrIn{}, l.fail("expected an address such as 127.0.0.1:8080, not %q", w)
	}
	fam := uint16(sockets.AF_INET)
	if !ap.Addr().Is4() {
		fam = sockets.AF_INET6
	}
	return sockets.SockaddrIn{Family: fam, Addr: ap.Addr(), Port: ap.Port()}, nil
}

// skipRest consumes trailing arguments the console does not need, such as
// "..., ..." or "[...], [4]": each is a word, a string or a bracketed
// group.
func (l *lexer) skipRest() {
	for l.accept(",") {
		if l.skipArg() != nil {
			return
		}
	}
}

func (l *lexer) syscallArgs(name string, start int) (*stack.Syscall, *SyntaxError) {
	sc := &stack.Syscall{Name: name}
	fd := func() (int64, *SyntaxError) { return l.value("file descriptor") }
	fdComma := func() (int64, *SyntaxError) { // "fd," as most calls begin
		v, err := fd()
		if err == nil {
			err = l.comma("the fd")
		}
		return v, err
	}
	var err *SyntaxError
	switch name {
	case "socket":
		if l.ellipsis() {
			sc.Args[0] = sockets.AF_INET
		} else if sc.Args[0], err = l.value("address family"); err != nil {
			return nil, err
		}
		if err = l.comma("the family"); err != nil {
			return nil, err
		}
		if sc.Args[1], err = l.value("socket type"); err != nil {
			return nil, err
		}
		if err = l.comma("the type"); err != nil {
			return nil, err
		}
		if sc.Args[2], err = l.value("protocol"); err != nil {
			return nil, err
		}
	case "bind":
		if sc.Args[0], err = fdComma(); err != nil {
			return nil, err
		}
		if sc.Addr, err = l.address(); err != nil {
			return nil, err
		}
		sc.Args[1] = 16
		if l.accept(",") {
			if !l.ellipsis() {
				if sc.Args[1], err = l.value("address length"); err != nil {
					return nil, err
				}
			}
		}
	case "listen":
		if sc.Args[0], err = fdComma(); err != nil {
			return nil, err
		}
		if sc.Args[1], err = l.value("backlog"); err != nil {
			return nil, err
		}
	case "accept", "accept4":
		if sc.Args[0], err = fd(); err != nil {
			return nil, err
		}
		sc.Name = "accept4"
		if name == "accept4" {
			if err = l.comma("the fd"); err != nil {
				return nil, err
			}
			for i := 0; i < 2; i++ { // addr, addrlen
				if !l.ellipsis() {
					l.word()
				}
				if err = l.comma("the address arguments"); err != nil {
					return nil, err
				}
			}
			if sc.Args[1], err = l.value("accept4 flags"); err != nil {
				return nil, err
			}
		} else {
			l.skipRest()
		}
	case "close":
		if sc.Args[0], err = fd(); err != nil {
			return nil, err
		}
	case "getsockname", "getpeername":
		if sc.Args[0], err = fd(); err != nil {
			return nil, err
		}
		l.skipRest()
	case "shutdown":
		if sc.Args[0], err = fdComma(); err != nil {
			return nil, err
		}
		if sc.Args[1], err = l.value("how (SHUT_RD, SHUT_WR, SHUT_RDWR)"); err != nil {
			return nil, err
		}
	case "fcntl":
		if sc.Args[0], err = fdComma(); err != nil {
			return nil, err
		}
		if sc.Args[1], err = l.value("fcntl command"); err != nil {
			return nil, err
		}
		if l.accept(",") {
			if sc.Args[2], err = l.value("fcntl argument"); err != nil {
				return nil, err
			}
		}
	case "setsockopt", "getsockopt":
		if sc.Args[0], err = fdComma(); err != nil {
			return nil, err
		}
		if sc.Args[1], err = l.value("option level"); err != nil {
			return nil, err
		}
		if err = l.comma("the level"); err != nil {
			return nil, err
		}
		if sc.Args[2], err = l.value("option name"); err != nil {
			return nil, err
		}
		if name == "getsockopt" {
			// getsockopt(fd, level, name, VALUE, [LEN]): the value is what
			// the script expects back; LEN is the buffer's size.
			if l.accept(",") {
				if err = l.skipArg(); err != nil {
					return nil, err
				}
				if l.accept(",") && !l.wildcard() {
					if sc.Args[3], err = l.value("option length"); err != nil {
						return nil, err
					}
				}
			}
			l.skipRest()
			break
		}
		if err = l.comma("the option name"); err != nil {
			return nil, err
		}
		switch l.peek() {
		case '{':
			l.accept("{")
			if sc.Opt, err = l.linger(); err != nil {
				return nil, err
			}
		case '"':
			if sc.Opt.Bytes, err = l.optString(); err != nil {
				return nil, err
			}
		default:
			if sc.Opt.Int, err = l.value("option value"); err != nil {
				return nil, err
			}
		}
		l.skipRest()
	case "ioctl":
		// ioctl(fd, SIOCINQ, [N]): N is what the script expects back.
		if sc.Args[0], err = fdComma(); err != nil {
			return nil, err
		}
		if sc.Args[1], err = l.value("ioctl command (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD)"); err != nil {
			return nil, err
		}
		l.skipRest()
	case "connect":
		if sc.Args[0], err = fdComma(); err != nil {
			return nil, err
		}
		if sc.Addr, err = l.address(); err != nil {
			return nil, err
		}
		sc.Args[1] = 16
		l.skipRest()
	case "write", "send", "sendto":
		// write(fd, ..., len); send(fd, ..., len, flags); sendto(fd, ..., len, flags, addr[, addrlen]).
		// The bytes sent are a fixed pattern, as in packetdrill.
		var n int64
		if n, err = l.bufferAndLength(sc); err != nil {
			return nil, err
		}
		sc.Name = "sendto"
		sc.Data = pattern(int(n))
		if name != "write" {
			if err = l.comma("the length"); err != nil {
				return nil, err
			}
			if sc.Args[1], err = l.value("send flags"); err != nil {
				return nil, err
			}
		}
		if name == "sendto" && l.accept(",") {
			if sc.Addr, err = l.address(); err != nil {
				return nil, err
			}
			sc.HasAddr = true
		}
		l.skipRest()
	case "read", "recv", "recvfrom":
		// read(fd, ..., len); recv(fd, ..., len, flags); recvfrom(fd, ..., len, flags, ..., ...).
		if sc.Args[1], err = l.bufferAndLength(sc); err != nil {
			return nil, err
		}
		sc.Name = "recvfrom"
		if name != "read" {
			if err = l.comma("the length"); err != nil {
				return nil, err
			}
			if sc.Args[2], err = l.value("receive flags"); err != nil {
				return nil, err
			}
		}
		l.skipRest()
	case "poll":
		// poll([{fd=3, events=POLLIN[, revents=...]}, ...], nfds, timeout)
		if sc.Fds, err = l.pollfds(); err != nil {
			return nil, err
		}
		if err = l.comma("the pollfd array"); err != nil {
			return nil, err
		}
		if sc.Args[0], err = l.value("nfds"); err != nil {
			return nil, err
		}
		if err = l.comma("nfds"); err != nil {
			return nil, err
		}
		if sc.Args[1], err = l.value("timeout (ms)"); err != nil {
			return nil, err
		}
		l.skipRest()
	default:
		l.pos = start
		return nil, l.fail("the console does not know %q; it has %s and sysctl", name, strings.Join(knownSyscalls, ", "))
	}
	return sc, nil
}

// optString reads setsockopt's string value and its length, "reno", 4:
// the buffer the kernel is given is the string cut or NUL-padded to the
// length, as a C program's would be.
func (l *lexer) optString() ([]byte, *SyntaxError) {
	str, err := l.str()
	if err != nil {
		return nil, err
	}
	n := int64(len(str) + 1) // the string and its NUL, if no length follows
	if l.accept(",") && !l.ellipsis() {
		at := l.pos
		if n, err = l.value("option length"); err != nil {
			return nil, err
		}
		if n < 0 || n > 4096 {
			l.pos = at
			return nil, l.fail("option length %d: use 0 to 4096", n)
		}
	}
	b := make([]byte, n)
	copy(b, str)
	return b, nil
}

// knownSyscalls are the system calls syscallArgs parses.
var knownSyscalls = []string{"socket", "bind", "listen", "accept", "accept4", "connect", "write", "send", "sendto",
	"read", "recv", "recvfrom", "close", "getsockname", "getpeername", "setsockopt", "getsockopt", "fcntl",
	"shutdown", "poll", "ioctl"}

// KnownSyscall reports whether a console or script line may call name.
func KnownSyscall(name string) bool { return slices.Contains(knownSyscalls, name) }

// maxScriptedIO caps the length a script may send or read in one call.
const maxScriptedIO = 16 << 20

// bufferAndLength reads "fd, ..., len" into sc.Args[0] and returns len.
// The buffer is not data the console has: "..." or any word stands for it.
func (l *lexer) bufferAndLength(sc *stack.Syscall) (int64, *SyntaxError) {
	var err *SyntaxError
	if sc.Args[0], err = l.value("file descriptor"); err != nil {
		return 0, err
	}
	if err = l.comma("the fd"); err != nil {
		return 0, err
	}
	if !l.ellipsis() {
		l.word()
	}
	if err = l.comma("the buffer"); err != nil {
		return 0, err
	}
	at := l.pos
	n, err := l.value("length")
	if err != nil {
		return 0, err
	}
	if n < 0 || n > maxScriptedIO {
		l.pos = at
		return 0, l.fail("length %d: use 0 to %d", n, maxScriptedIO)
	}
	return n, nil
}

// pattern is the bytes a scripted send carries: a repeating alphabet, so
// a hex dump shows where a segment starts.
func pattern(n int) []byte {
	b := make([]byte, max(n, 0))
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// linger reads {onoff=1, linger=0} or {tv_sec=1, tv_usec=0} (the opening
// brace is consumed).
// pollfds reads packetdrill's array of struct pollfd: [{fd=N, events=MASK,
// revents=MASK}, ...]; the revents written in a script are what it expects
// back, which the console shows rather than checks.
func (l *lexer) pollfds() ([]stack.PollFd, *SyntaxError) {
	if err := l.expect("[", "to open the pollfd array"); err != nil {
		return nil, err
	}
	var fds []stack.PollFd
	for !l.accept("]") {
		if err := l.expect("{", "to open a struct pollfd"); err != nil {
			return nil, err
		}
		var pfd stack.PollFd
		for !l.accept("}") {
			key := l.word()
			if err := l.expect("=", "after "+key); err != nil {
				return nil, err
			}
			n, err := l.value(key)
			if err != nil {
				return nil, err
			}
			switch key {
			case "fd":
				pfd.Fd = int32(n)
			case "events":
				pfd.Events = uint16(n)
			case "revents":
			default:
				return nil, l.fail("struct pollfd has fd, events and revents, not %q", key)
			}
			l.accept(",")
			if l.pos >= len(l.text) {
				return nil, l.fail("unclosed '{'")
			}
		}
		fds = append(fds, pfd)
		l.accept(",")
		if l.pos >= len(l.text) {
			return nil, l.fail("unclosed '['")
		}
	}
	return fds, nil
}

func (l *lexer) linger() (sockets.Optval, *SyntaxError) {
	var v sockets.Optval
	for !l.accept("}") {
		key := l.word()
		if err := l.expect("=", "after "+key); err != nil {
			return v, err
		}
		n, err := l.value(key)
		if err != nil {
			return v, err
		}
		switch key {
		case "onoff", "l_onoff":
			v.LingerOnoff = n != 0
			v.Int = n
		case "linger", "l_linger":
			v.LingerSecs = int32(n)
		case "tv_sec":
			v.TvSec = n
		case "tv_usec":
			v.TvUsec = n
		default:
			return v, l.fail("the console knows struct linger {onoff, linger} and struct timeval {tv_sec, tv_usec}, not %q", key)
		}
		l.accept(",")
		if l.pos >= len(l.text) {
			return v, l.fail("unclosed '{'")
		}
	}
	return v, nil
}
