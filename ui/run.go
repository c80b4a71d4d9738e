package ui

import (
	"errors"
	"fmt"
	"io"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
)

// ErrNoTerminal says the inspector cannot draw: its output is not a
// terminal.
var ErrNoTerminal = errors.New("the inspector needs a terminal, and standard output is not one; add --headless for text output")

// CanDraw reports whether the inspector can draw on out: a command
// checks it before starting anything (a session, a recording) that would
// be wasted if it cannot.
func CanDraw(out io.Writer) error {
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return ErrNoTerminal
	}
	return nil
}

// Run opens the inspector on src in the terminal and returns when the
// user quits. It closes src on the way out.
func Run(src Source, in io.Reader, out *os.File, opts Options) error {
	defer src.Close()
	if !term.IsTerminal(out.Fd()) {
		return ErrNoTerminal
	}
	m, err := New(src, opts)
	if err != nil {
		return err
	}
	defer m.feed.Close()
	p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(out), tea.WithFPS(30))
	if _, err := p.Run(); err != nil {
		return fmt.Errorf("inspector: %w", err)
	}
	return nil
}
