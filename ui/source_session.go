package ui

import (
	"fmt"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/stack/live"
)

// SessionSource shows a live session on TUN, or the demo.
type SessionSource struct {
	S      *live.Session
	mode   Mode
	title  string
	banner string
}

// LiveSource is a live session on its TUN device.
func LiveSource(s *live.Session, stackAddr string) *SessionSource {
	return &SessionSource{S: s, mode: ModeLive, title: fmt.Sprintf("%s %s", s.Tun.Name(), stackAddr)}
}

// DemoSource is the demo; banner says why it is the demo and how to go
// live (empty if the user asked for the demo).
func DemoSource(s *live.Session, banner string) *SessionSource {
	return &SessionSource{S: s, mode: ModeDemo, title: "lo 127.0.0.1, burst0 10.99.0.2/24", banner: banner}
}

// Kernel returns the session's kernel.
func (s *SessionSource) Kernel() *stack.Kernel { return s.S.K }

// Mode is LIVE or DEMO.
func (s *SessionSource) Mode() Mode { return s.mode }

// Title names the device and address.
func (s *SessionSource) Title() string { return s.title }

// Banner is the demo's note, if any.
func (s *SessionSource) Banner() string { return s.banner }

// Close ends the session (and removes its device).
func (s *SessionSource) Close() error { return s.S.Close() }

// SynBurst fills a SYN queue (the demo's).
func (s *SessionSource) SynBurst() (string, error) { return s.S.SynBurst() }
