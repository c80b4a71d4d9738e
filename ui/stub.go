package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// stubPane stands in for a pane that is being written.
type stubPane struct {
	list
	name string
}

func (p *stubPane) Name() string                         { return p.name }
func (p *stubPane) Title(c *Context) string              { return p.name }
func (p *stubPane) Refresh(c *Context)                   {}
func (p *stubPane) Update(c *Context, m tea.Msg) tea.Cmd { return nil }
func (p *stubPane) View(c *Context) string               { return c.Styles.Dim.Render(" (being built)") }
func (p *stubPane) Keys() []key.Binding                  { return nil }
