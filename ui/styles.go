package ui

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Styles is the inspector's one style sheet. Colour is never the only
// carrier of meaning: the focused pane has a double border, changes carry
// a "+n"/"-n" mark, the current line a ">" marker.
type Styles struct {
	Border, FocusBorder lipgloss.Style // the glyphs' colour (box.go draws them)
	Title, FocusTitle   lipgloss.Style
	Header              lipgloss.Style // column headers
	Selected            lipgloss.Style // the cursor row
	Dim                 lipgloss.Style // secondary text
	Changed             lipgloss.Style // a value that changed since the last frame
	Warn                lipgloss.Style // full queues, drops, errors
	StatusBar, Mode     lipgloss.Style
	Banner              lipgloss.Style
	HelpKey, HelpDesc   lipgloss.Style
}

// NewStyles builds the style sheet for a dark or light background.
func NewStyles(dark bool) Styles {
	ld := lipgloss.LightDark(dark)
	accent := ld(color.RGBA{0x00, 0x5f, 0xaf, 0xff}, color.RGBA{0x5f, 0xaf, 0xff, 0xff})
	dim := ld(color.RGBA{0x6c, 0x6c, 0x6c, 0xff}, color.RGBA{0x9e, 0x9e, 0x9e, 0xff})
	warn := ld(color.RGBA{0xaf, 0x00, 0x00, 0xff}, color.RGBA{0xff, 0x5f, 0x5f, 0xff})
	changed := ld(color.RGBA{0x87, 0x5f, 0x00, 0xff}, color.RGBA{0xff, 0xd7, 0x00, 0xff})
	barBg := ld(color.RGBA{0xd0, 0xd0, 0xd0, 0xff}, color.RGBA{0x30, 0x30, 0x30, 0xff})
	return Styles{
		Border:      lipgloss.NewStyle().Foreground(dim),
		FocusBorder: lipgloss.NewStyle().Foreground(accent),
		Title:       lipgloss.NewStyle().Foreground(dim),
		FocusTitle:  lipgloss.NewStyle().Foreground(accent).Bold(true),
		Header:      lipgloss.NewStyle().Bold(true),
		Selected:    lipgloss.NewStyle().Reverse(true),
		Dim:         lipgloss.NewStyle().Foreground(dim),
		Changed:     lipgloss.NewStyle().Foreground(changed).Bold(true),
		Warn:        lipgloss.NewStyle().Foreground(warn).Bold(true),
		StatusBar:   lipgloss.NewStyle().Background(barBg),
		Mode:        lipgloss.NewStyle().Bold(true).Reverse(true),
		Banner:      lipgloss.NewStyle().Foreground(changed).Bold(true),
		HelpKey:     lipgloss.NewStyle().Bold(true),
		HelpDesc:    lipgloss.NewStyle().Foreground(dim),
	}
}
