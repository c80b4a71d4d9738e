package scenario

import (
	"fmt"
	"strings"

	"github.com/stackscope/stackscope/stack/header"
)

// Script is a parsed packetdrill script: its command-line option lines
// and its events in file order.
type Script struct {
	File    string
	Options []ScriptOption
	Events  []*Event
	// Lines is the source split into lines, for printing a line as the
	// runner executes it (Lines[n-1] is line n).
	Lines []string
}

// ScriptOption is a "--name=value" line at the top of a script, as
// packetdrill reads its command-line flags from the script itself.
type ScriptOption struct {
	Line  int
	Name  string
	Value string // "" for a flag without a value
}

// Option returns the value of the last --name option and whether the
// script sets it.
func (s *Script) Option(name string) (string, bool) {
	v, ok := "", false
	for _, o := range s.Options {
		if o.Name == name {
			v, ok = o.Value, true
		}
	}
	return v, ok
}

// TimeKind says how an event's time column is written.
type TimeKind uint8

// The time columns packetdrill has.
const (
	// TimeNone: the line has no time column (a shell line); it runs when
	// the line before it has run.
	TimeNone TimeKind = iota
	// TimeAbsolute: "0.100", seconds since the script began.
	TimeAbsolute
	// TimeRelative: "+.1", seconds after the line before.
	TimeRelative
	// TimeAny: "*", whenever it happens.
	TimeAny
)

// Time is an event's time column, in nanoseconds. A range ("+0...0.200",
// "+.21~+.215") sets End: the event may happen (a blocking call may return)
// anywhere from Start to End. Both ends count from the same origin: the
// script's start for an absolute time, the line before for a relative one.
type Time struct {
	Kind  TimeKind
	Start int64
	End   int64
	Range bool
}

func (t Time) String() string {
	sec := func(ns int64) string {
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", float64(ns)/1e9), "0"), ".")
	}
	switch t.Kind {
	case TimeNone:
		return ""
	case TimeAny:
		return "*"
	}
	p := ""
	if t.Kind == TimeRelative {
		p = "+"
	}
	if t.Range {
		return p + sec(t.Start) + "..." + sec(t.End)
	}
	return p + sec(t.Start)
}

// EventKind says what a line does.
type EventKind uint8

// The kinds of script lines.
const (
	EventSyscall EventKind = iota + 1
	EventPacket
	EventShell
	EventCode
)

func (k EventKind) String() string {
	switch k {
	case EventSyscall:
		return "system call"
	case EventPacket:
		return "packet"
	case EventShell:
		return "shell command"
	case EventCode:
		return "code block"
	}
	return "event"
}

// Event is one statement of a script: usually one line, but a syscall
// whose arguments run over several lines, a backtick block or a %{ }%
// block spans Line to EndLine.
type Event struct {
	Line, EndLine int
	Column        int // where the statement begins on Line
	Text          string
	Time          Time
	Kind          EventKind

	// Syscall is set for a system call the console knows, Unsupported
	// (the call's name) for one it does not.
	Syscall     *Command
	Unsupported string
	// ExpectOpt is the value a getsockopt or ioctl line expects through
	// its pointer argument ("[1100]"), if it gives one; ExpectStr is the
	// string a getsockopt line expects ("cubic"), if it gives one.
	ExpectOpt *int64
	ExpectStr *string

	Packet *Packet
	Shell  *Shell
	Code   *Code
}

// Direction is a packet line's arrow.
type Direction uint8

// Inbound packets ("<") are injected into the kernel as if the remote peer
// sent them; outbound packets (">") are what the kernel must send.
const (
	Inbound Direction = iota + 1
	Outbound
)

func (d Direction) String() string {
	if d == Inbound {
		return "inbound"
	}
	return "outbound"
}

// Packet is a packet line: exactly one of TCP, UDP and ICMP is set.
type Packet struct {
	Dir  Direction
	TCP  *TCPPacket
	UDP  *UDPPacket
	ICMP *ICMPPacket
}

// TCPPacket is "FLAGS seq:end(len) [ack N] [win N] [<options>]". Sequence
// and acknowledgement numbers are relative to the ISNs, as in packetdrill:
// the side that sends the SYN numbers its sequence space from 0.
type TCPPacket struct {
	Flags     uint8 // header.TCP_FLAG_*
	FlagsText string
	Seq, End  uint32
	Len       int
	Ack       uint32
	HasAck    bool
	Win       uint16
	HasWin    bool
	// Options is nil when the line gives none (no options on the wire for
	// an inbound packet; any for an outbound one); AnyOptions is "<...>".
	Options    []TCPOption
	HasOptions bool
	AnyOptions bool
}

// TCPOptionKind is a TCP option as the script names it.
type TCPOptionKind uint8

// The TCP options a script may write.
const (
	OptNOP TCPOptionKind = iota + 1
	OptEOL
	OptMSS
	OptWScale
	OptSackOK
	OptSack
	OptTimestamp
)

// TCPOption is one TCP option of a packet line.
type TCPOption struct {
	Kind     TCPOptionKind
	Value    uint32 // mss, wscale
	Blocks   []header.SackBlock
	Val, Ecr uint32 // timestamps
}

func (o TCPOption) String() string {
	switch o.Kind {
	case OptNOP:
		return "nop"
	case OptEOL:
		return "eol"
	case OptMSS:
		return fmt.Sprintf("mss %d", o.Value)
	case OptWScale:
		return fmt.Sprintf("wscale %d", o.Value)
	case OptSackOK:
		return "sackOK"
	case OptSack:
		parts := []string{"sack"}
		for _, b := range o.Blocks {
			parts = append(parts, fmt.Sprintf("%d:%d", b.Start, b.End))
		}
		return strings.Join(parts, " ")
	case OptTimestamp:
		return fmt.Sprintf("TS val %d ecr %d", o.Val, o.Ecr)
	}
	return "?"
}

// OptionsString renders options as a script writes them: "<mss 1460,nop>".
func OptionsString(opts []TCPOption) string {
	parts := make([]string, len(opts))
	for i, o := range opts {
		parts[i] = o.String()
	}
	return "<" + strings.Join(parts, ",") + ">"
}

// UDPPacket is "udp (N)": a datagram of N bytes of payload.
type UDPPacket struct {
	Len int
}

// ICMPPacket is "icmp TYPE [CODE] [mtu N] [[START:END(LEN)]]" (or with the
// bracket before "icmp", packetdrill's older form), such as
// "icmp unreachable frag_needed mtu 1200 [1:1461(1460)]" or "icmp
// echo_reply". The bracket is the segment of the kernel's that an
// inbound error quotes, its sequence numbers counted from the kernel's
// ISN as on an outbound line.
type ICMPPacket struct {
	Type, Code string // as written ("" for no code: 0)
	// TypeNum and CodeNum are the type and code on the wire.
	TypeNum, CodeNum uint8
	MTU              int
	Echo             *ICMPEcho
}

// ICMPEcho is the quoted TCP segment of an ICMP error: start:end(length).
type ICMPEcho struct {
	Seq, End uint32
	Len      int
}

// Shell is a backtick block. packetdrill runs it with a shell; the runner
// runs no shell but understands the lines that set sysctls.
type Shell struct {
	Text string
	// Includes are scripts the block runs, such as ../common/defaults.sh:
	// the runner applies the sysctls of packetdrill's defaults.
	Includes []string
	// Sysctls are "sysctl -q name=value" settings and set_sysctls.py's
	// "/proc/sys/net/ipv4/name=value" ones, in order.
	Sysctls []SysctlSetting
	// Other are the lines that are neither: reported, not run.
	Other []string
}

// SysctlSetting is one name=value a shell block sets.
type SysctlSetting struct {
	Name, Value string
}

// Code is a %{ }% block: packetdrill hands it to Python with the socket's
// TCP_INFO. The runner evaluates asserts over tcpi_ fields.
type Code struct {
	Text    string
	Asserts []Assert
	// Other are statements that are not asserts of a tcpi_ field.
	Other []string
}

// Assert is "assert tcpi_FIELD OP VALUE".
type Assert struct {
	Field string // "tcpi_snd_cwnd"
	Op    string // ==, !=, <, <=, >, >=
	Value int64
	Text  string
}

// Holds reports whether actual OP value is true.
func (a Assert) Holds(actual int64) bool {
	switch a.Op {
	case "==":
		return actual == a.Value
	case "!=":
		return actual != a.Value
	case "<":
		return actual < a.Value
	case "<=":
		return actual <= a.Value
	case ">":
		return actual > a.Value
	case ">=":
		return actual >= a.Value
	}
	return false
}
