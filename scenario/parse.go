package scenario

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/stackscope/stackscope/stack"
)

// maxScriptTime bounds a time column (a day), so that seconds convert to
// nanoseconds without overflow.
const maxScriptTime = 86400.0

// ParseFile reads and parses a script file.
func ParseFile(path string) (*Script, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read script: %w", err)
	}
	return Parse(path, string(b))
}

// Parse parses a whole packetdrill script. file names it in errors. The
// first malformed statement is returned as a *SyntaxError.
func Parse(file, src string) (*Script, error) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	p := &parser{file: file, lines: strings.Split(src, "\n")}
	p.code = blankBlockComments(p.lines)
	s := &Script{File: file, Lines: p.lines}
	for p.n < len(p.code) {
		if err := p.statement(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// parser walks the script line by line; a statement may take several.
type parser struct {
	file  string
	lines []string // the source
	code  []string // the source with /* */ comments blanked out
	n     int      // index of the next line
}

func (p *parser) fail(line, col int, format string, args ...any) *SyntaxError {
	text := ""
	if line >= 1 && line <= len(p.lines) {
		text = p.lines[line-1]
	}
	return &SyntaxError{File: p.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...), Text: text}
}

// blankBlockComments replaces /* ... */ (which may span lines) with spaces,
// so columns and line numbers stay where they were.
func blankBlockComments(lines []string) []string {
	out := make([]string, len(lines))
	in := false
	for i, l := range lines {
		b := []byte(l)
		for j := 0; j < len(b); j++ {
			switch {
			case in && b[j] == '*' && j+1 < len(b) && b[j+1] == '/':
				b[j], b[j+1] = ' ', ' '
				j++
				in = false
			case in:
				if b[j] != '\t' {
					b[j] = ' '
				}
			case b[j] == '/' && j+1 < len(b) && b[j+1] == '*':
				b[j], b[j+1] = ' ', ' '
				j++
				in = true
			case b[j] == '/' && j+1 < len(b) && b[j+1] == '/':
				j = len(b) // a line comment hides the rest, /* included
			}
		}
		out[i] = string(b)
	}
	return out
}

// stripLineComment cuts a // comment off a line.
func stripLineComment(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		return s[:i]
	}
	return s
}

// statement parses the statement that begins on line p.n.
func (p *parser) statement(s *Script) error {
	lineNo := p.n + 1
	raw := stripLineComment(p.code[p.n])
	trimmed := strings.TrimSpace(raw)
	if trimmed == "" {
		p.n++
		return nil
	}
	col := strings.Index(raw, trimmed) + 1
	if strings.HasPrefix(trimmed, "--") {
		p.n++
		if len(s.Events) > 0 {
			return p.fail(lineNo, col, "option lines (%s) must come before the first event", trimmed)
		}
		name, val, _ := strings.Cut(trimmed[2:], "=")
		if name == "" || strings.ContainsAny(name, " \t") {
			return p.fail(lineNo, col, "bad option line %q: write --name=value", trimmed)
		}
		s.Options = append(s.Options, ScriptOption{Line: lineNo, Name: name, Value: strings.TrimSpace(val)})
		return nil
	}
	ev := &Event{Line: lineNo, EndLine: lineNo, Column: col}
	rest, restCol := trimmed, col
	if c := trimmed[0]; c == '+' || c == '*' || c == '.' || (c >= '0' && c <= '9') {
		t, n, err := parseTime(trimmed)
		if err != nil {
			return p.fail(lineNo, col+n, "%s", err)
		}
		ev.Time = t
		rest = strings.TrimLeft(trimmed[n:], " \t")
		restCol = col + len(trimmed) - len(rest)
		if rest == "" {
			return p.fail(lineNo, restCol, "expected a packet, a system call, a `shell command` or a %%{ }%% block after the time")
		}
	}
	var err error
	switch {
	case rest[0] == '`':
		err = p.shell(ev, lineNo, restCol)
	case strings.HasPrefix(rest, "%{"):
		err = p.codeBlock(ev, lineNo, restCol)
	case rest[0] == '<' || rest[0] == '>':
		p.n++
		ev.Kind = EventPacket
		ev.Text = strings.TrimSpace(trimmed)
		ev.Packet, err = parsePacket(p, lineNo, restCol, rest)
	default:
		err = p.syscall(ev, lineNo, restCol)
	}
	if err != nil {
		return err
	}
	if ev.Kind == EventSyscall {
		ev.Text = strings.TrimSpace(trimmed[:len(trimmed)-len(rest)] + ev.Text)
		ev.Syscall.Text = ev.Text
	}
	if ev.Kind != EventShell && ev.Time.Kind == TimeNone {
		return p.fail(lineNo, col, "a %s needs a time, such as 0, +.1 or *", ev.Kind)
	}
	s.Events = append(s.Events, ev)
	return nil
}

// parseTime reads a time column at the start of s and says how many bytes
// it took: "*", "0.100", "+.1", "+0...0.200", "+.21~+.215".
func parseTime(s string) (Time, int, error) {
	if s[0] == '*' {
		return Time{Kind: TimeAny}, 1, nil
	}
	t := Time{Kind: TimeAbsolute}
	i := 0
	if s[0] == '+' {
		t.Kind = TimeRelative
		i++
	}
	v, n, err := parseSeconds(s[i:])
	if err != nil {
		return t, i, err
	}
	t.Start, t.End = v, v
	i += n
	sep := 0
	if strings.HasPrefix(s[i:], "...") {
		sep = 3
	} else if strings.HasPrefix(s[i:], "~") {
		sep = 1
	}
	if sep > 0 {
		i += sep
		if i < len(s) && s[i] == '+' {
			if t.Kind != TimeRelative {
				return t, i, fmt.Errorf("a range that starts at an absolute time must end at one")
			}
			i++
		}
		e, n, err := parseSeconds(s[i:])
		if err != nil {
			return t, i, err
		}
		if e < t.Start {
			return t, i, fmt.Errorf("the range ends before it starts")
		}
		t.End, t.Range = e, true
		i += n
	}
	if i < len(s) && s[i] != ' ' && s[i] != '\t' {
		return t, i, fmt.Errorf("bad time: expected a space after it, not %q", s[i:i+1])
	}
	return t, i, nil
}

// parseSeconds reads "0", ".1", "1.500" as nanoseconds, rounded to the
// microsecond (packetdrill's resolution).
func parseSeconds(s string) (int64, int, error) {
	n := 0
	dot := false
	for n < len(s) && (s[n] >= '0' && s[n] <= '9' || (s[n] == '.' && !dot && !strings.HasPrefix(s[n:], "..."))) {
		if s[n] == '.' {
			dot = true
		}
		n++
	}
	if n == 0 || s[:n] == "." {
		return 0, 0, fmt.Errorf("bad time: use seconds such as 0, 1.5, +.1 or +0...0.200")
	}
	f, err := strconv.ParseFloat(s[:n], 64)
	if err != nil || f > maxScriptTime {
		return 0, 0, fmt.Errorf("bad time %q: use seconds up to %.0f", s[:n], maxScriptTime)
	}
	return int64(math.Round(f*1e6)) * 1000, n, nil
}

// shell parses a backtick block that begins at column col of line lineNo
// and may run over several lines.
func (p *parser) shell(ev *Event, lineNo, col int) error {
	ev.Kind = EventShell
	first := p.code[p.n][col-1:]
	body := first[1:]
	var parts []string
	for {
		if i := strings.IndexByte(body, '`'); i >= 0 {
			parts = append(parts, body[:i])
			if strings.TrimSpace(stripLineComment(body[i+1:])) != "" {
				return p.fail(p.n+1, len(p.code[p.n])-len(body)+i+2, "unexpected text after the closing backtick")
			}
			p.n++
			break
		}
		parts = append(parts, body)
		p.n++
		if p.n >= len(p.code) {
			return p.fail(lineNo, col, "unclosed backtick: a shell block ends with `")
		}
		body = p.lines[p.n]
	}
	ev.EndLine = p.n
	text := strings.Join(parts, "\n")
	ev.Text = "`" + text + "`"
	ev.Shell = parseShell(text)
	return nil
}

// parseShell sorts the lines of a shell block into includes, sysctls and
// the rest. A trailing backslash continues a line.
func parseShell(text string) *Shell {
	sh := &Shell{Text: text}
	var cmds []string
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		cur += l
		if c := strings.TrimSpace(cur); c != "" && !strings.HasPrefix(c, "#") {
			cmds = append(cmds, c)
		}
		cur = ""
	}
	if c := strings.TrimSpace(cur); c != "" {
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		f := strings.Fields(c)
		switch {
		case len(f) == 1 && strings.HasSuffix(f[0], ".sh") && !strings.Contains(f[0], "$"):
			sh.Includes = append(sh.Includes, f[0])
		case f[0] == "sysctl":
			ok := false
			for _, a := range f[1:] {
				if name, val, has := strings.Cut(a, "="); has && !strings.HasPrefix(a, "-") {
					sh.Sysctls = append(sh.Sysctls, SysctlSetting{Name: name, Value: strings.Trim(val, `"'`)})
					ok = true
				}
			}
			if !ok {
				sh.Other = append(sh.Other, c)
			}
		case strings.HasSuffix(f[0], "set_sysctls.py"):
			for _, a := range f[1:] {
				path, val, has := strings.Cut(a, "=")
				if !has || !strings.HasPrefix(path, "/proc/sys/") {
					sh.Other = append(sh.Other, a)
					continue
				}
				name := strings.ReplaceAll(strings.TrimPrefix(path, "/proc/sys/"), "/", ".")
				sh.Sysctls = append(sh.Sysctls, SysctlSetting{Name: name, Value: strings.Trim(val, `"'`)})
			}
		default:
			sh.Other = append(sh.Other, c)
		}
	}
	return sh
}

// codeBlock parses a %{ ... }% block.
func (p *parser) codeBlock(ev *Event, lineNo, col int) error {
	ev.Kind = EventCode
	body := p.lines[p.n][col-1+2:]
	var parts []string
	for {
		if i := strings.Index(body, "}%"); i >= 0 {
			parts = append(parts, body[:i])
			if strings.TrimSpace(stripLineComment(body[i+2:])) != "" {
				return p.fail(p.n+1, len(p.lines[p.n])-len(body)+i+3, "unexpected text after }%%")
			}
			p.n++
			break
		}
		parts = append(parts, body)
		p.n++
		if p.n >= len(p.lines) {
			return p.fail(lineNo, col, "unclosed %%{: a code block ends with }%%")
		}
		body = p.lines[p.n]
	}
	ev.EndLine = p.n
	text := strings.Join(parts, "\n")
	ev.Text = "%{" + text + "}%"
	c := &Code{Text: text}
	for _, l := range strings.Split(text, "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		for _, st := range strings.Split(l, ";") {
			st = strings.TrimSpace(st)
			if st == "" {
				continue
			}
			if a, ok := parseAssert(st); ok {
				c.Asserts = append(c.Asserts, a)
			} else {
				c.Other = append(c.Other, st)
			}
		}
	}
	ev.Code = c
	return nil
}

// parseAssert reads "assert tcpi_X OP N[, message]".
func parseAssert(st string) (Assert, bool) {
	rest, ok := strings.CutPrefix(st, "assert ")
	if !ok {
		return Assert{}, false
	}
	if i := strings.IndexByte(rest, ','); i >= 0 {
		rest = rest[:i]
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		l, r, found := strings.Cut(rest, op)
		if !found {
			continue
		}
		field, val := strings.TrimSpace(l), strings.TrimSpace(r)
		if !strings.HasPrefix(field, "tcpi_") || !isIdent(field) {
			return Assert{}, false
		}
		v, err := strconv.ParseInt(val, 0, 64)
		if err != nil {
			return Assert{}, false
		}
		return Assert{Field: field, Op: op, Value: v, Text: st}, true
	}
	return Assert{}, false
}

func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// syscall parses a system call statement; its arguments may run over
// several lines, up to the line where the parentheses balance.
func (p *parser) syscall(ev *Event, lineNo, col int) error {
	ev.Kind = EventSyscall
	text := stripLineComment(p.code[p.n][col-1:])
	name := text
	if i := strings.IndexByte(text, '('); i >= 0 {
		name = text[:i]
	}
	name = strings.TrimSpace(name)
	if !isIdent(name) {
		return p.fail(lineNo, col, "expected a packet (< or >), a system call, a `shell command` or a %%{ }%% block")
	}
	joined := text
	for depth(joined) > 0 {
		p.n++
		if p.n >= len(p.code) || p.n-lineNo > 50 {
			return p.fail(lineNo, col, "unclosed '(' in the arguments of %s", name)
		}
		joined += " " + strings.TrimSpace(stripLineComment(p.code[p.n]))
	}
	ev.EndLine = p.n + 1
	p.n++
	ev.Text = strings.TrimSpace(joined)
	if name == "sendmsg" {
		return p.sendmsg(ev, lineNo, col, joined)
	}
	if !KnownSyscall(name) {
		ev.Unsupported = name
		return p.checkUnsupported(ev, lineNo, col, name, joined)
	}
	// Pad so that ParseLine's columns are the line's.
	cmd, err := ParseLine(p.file, lineNo, strings.Repeat(" ", col-1)+joined)
	if err != nil {
		if se, ok := err.(*SyntaxError); ok {
			se.Text = p.lines[lineNo-1]
		}
		return err
	}
	if cmd == nil || cmd.Syscall == nil {
		return p.fail(lineNo, col, "expected a system call")
	}
	ev.Syscall = cmd
	// The value a getsockopt or ioctl line expects through its pointer.
	at := map[string]int{"getsockopt": 3, "ioctl": 2}
	if i, ok := at[name]; ok {
		if args := splitArgs(joined); len(args) > i {
			a := strings.TrimSpace(args[i])
			switch {
			case strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]"):
				if v, err := strconv.ParseInt(strings.TrimSpace(a[1:len(a)-1]), 0, 64); err == nil {
					ev.ExpectOpt = &v
				}
			case strings.HasPrefix(a, `"`):
				l := &lexer{text: a, line: lineNo, file: p.file}
				if str, err := l.str(); err == nil {
					ev.ExpectStr = &str
				}
			}
		}
	}
	return nil
}

// sendmsg reads sendmsg(fd, {msg_name(...)=..., msg_iov(N)=[{..., LEN},
// ...], msg_flags=0}, FLAGS): the runner sends the iovecs' total length of
// pattern bytes with sendto, as packetdrill fills the buffers.
func (p *parser) sendmsg(ev *Event, lineNo, col int, joined string) error {
	if err := p.checkUnsupported(ev, lineNo, col, "sendmsg", joined); err != nil {
		return err
	}
	args := splitArgs(joined)
	if len(args) != 3 {
		return p.fail(lineNo, col, "sendmsg takes three arguments: fd, {struct msghdr} and flags")
	}
	fd, err1 := strconv.ParseInt(strings.TrimSpace(args[0]), 0, 32)
	l := &lexer{text: args[2], line: lineNo, file: p.file}
	flags, err2 := l.value("send flags")
	if err1 != nil || err2 != nil {
		return p.fail(lineNo, col, "sendmsg needs a number for the fd and flags such as 0 or MSG_MORE")
	}
	total := int64(0)
	for _, part := range strings.Split(args[1], "{")[1:] {
		body, _, _ := strings.Cut(part, "}")
		f := strings.Split(body, ",")
		if n, err := strconv.ParseInt(strings.TrimSpace(f[len(f)-1]), 0, 32); err == nil && len(f) == 2 {
			total += n
		}
	}
	if total > maxScriptedIO {
		return p.fail(lineNo, col, "sendmsg of %d bytes: use at most %d", total, maxScriptedIO)
	}
	ev.Syscall.Syscall = &stack.Syscall{Name: "sendto", Args: [4]int64{fd, flags}, Data: pattern(int(total))}
	return nil
}

// checkUnsupported checks the shape of a call the runner cannot make
// (balanced arguments, an optional "= expectation"), so that the script
// parses and the run fails on that line with a clear message.
func (p *parser) checkUnsupported(ev *Event, lineNo, col int, name, joined string) error {
	end := closeParen(joined)
	if end < 0 {
		return p.fail(lineNo, col, "expected '(' after %s", name)
	}
	l := &lexer{text: joined, pos: end + 1, line: lineNo, file: p.file}
	ev.Syscall = &Command{Line: lineNo}
	if l.accept("=") {
		exp, err := l.expectation()
		if err != nil {
			err.Column += col - 1
			err.Text = p.lines[lineNo-1]
			return err
		}
		ev.Syscall.Expect = exp
	}
	l.skipSpace()
	if l.pos < len(l.text) {
		return p.fail(lineNo, col+l.pos, "unexpected %q after the call", l.text[l.pos:])
	}
	return nil
}

// depth is how many brackets of s are open at its end (brackets inside a
// string do not count).
func depth(s string) int {
	d := 0
	forBrackets(s, func(i int, c byte) bool {
		switch c {
		case '(', '[', '{':
			d++
		case ')', ']', '}':
			d--
		}
		return true
	})
	return d
}

// forBrackets calls f with each byte of s outside string literals, until
// f says stop.
func forBrackets(s string, f func(i int, c byte) bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && !f(i, c):
			return
		}
	}
}

// closeParen is the index of the ')' that closes the first '(' of s, or -1.
func closeParen(s string) int {
	open := strings.IndexByte(s, '(')
	if open < 0 {
		return -1
	}
	d, end := 0, -1
	forBrackets(s[open:], func(i int, c byte) bool {
		switch c {
		case '(', '[', '{':
			d++
		case ')', ']', '}':
			d--
			if d == 0 {
				end = open + i
				return false
			}
		}
		return true
	})
	return end
}

// splitArgs splits the arguments of "name(a, [b, c], d) = ..." at the
// commas outside brackets and strings.
func splitArgs(s string) []string {
	open, end := strings.IndexByte(s, '('), closeParen(s)
	if open < 0 || end < 0 {
		return nil
	}
	var out []string
	d, base := 0, open+1
	start := base
	forBrackets(s[base:end], func(i int, c byte) bool {
		switch c {
		case '(', '[', '{':
			d++
		case ')', ']', '}':
			d--
		case ',':
			if d == 0 {
				out = append(out, s[start:base+i])
				start = base + i + 1
			}
		}
		return true
	})
	return append(out, s[start:end])
}
