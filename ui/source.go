package ui

import "github.com/stackscope/stackscope/stack"

// Mode is what kind of source the inspector looks at; the status bar shows
// it.
type Mode string

// The modes.
const (
	ModeLive   Mode = "LIVE"
	ModeDemo   Mode = "DEMO"
	ModeScript Mode = "SCRIPT"
	ModeReplay Mode = "REPLAY"
)

// Source is what the inspector looks at: a running kernel and what to say
// about it. Live kernels, the demo, scenario runs and replays implement it.
type Source interface {
	// Kernel is the running kernel (its loop started).
	Kernel() *stack.Kernel
	// Mode and Title go in the status bar ("LIVE", "stk0 10.77.0.2/24").
	Mode() Mode
	Title() string
	// Banner, if not empty, is shown above the panes until dismissed:
	// why this is the demo and how to go live, for example.
	Banner() string
	// Close stops the source's activity and its kernel.
	Close() error
}

// Burster is a source that can start a SYN burst on request (the demo's
// key to fill a SYN queue).
type Burster interface {
	SynBurst() (string, error)
}

// KernelSource is a Source over a kernel someone else drives (tests, the
// console, a scenario runner): it only describes it.
type KernelSource struct {
	K           *stack.Kernel
	SourceMode  Mode
	SourceTitle string
	Note        string
	// OnClose, if set, runs on Close (after which the kernel is stopped).
	OnClose func() error
}

// Kernel returns the kernel.
func (s *KernelSource) Kernel() *stack.Kernel { return s.K }

// Mode returns the mode.
func (s *KernelSource) Mode() Mode { return s.SourceMode }

// Title returns the title.
func (s *KernelSource) Title() string { return s.SourceTitle }

// Banner returns the note.
func (s *KernelSource) Banner() string { return s.Note }

// Close runs OnClose and stops the kernel.
func (s *KernelSource) Close() error {
	var err error
	if s.OnClose != nil {
		err = s.OnClose()
	}
	s.K.Stop()
	return err
}
