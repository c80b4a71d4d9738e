package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// fit makes s exactly w cells wide: cut (ANSI-aware) or padded.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-n)
}

// fitLines makes text exactly w x h: each line fitted, missing lines blank.
func fitLines(text string, w, h int) []string {
	lines := strings.Split(text, "\n")
	out := make([]string, h)
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], w)
		} else {
			out[i] = strings.Repeat(" ", max(w, 0))
		}
	}
	return out
}

// boxChars are the border glyphs; the focused pane gets double lines, so
// focus shows without colour.
type boxChars struct{ tl, tr, bl, br, h, v string }

var (
	singleBox = boxChars{"┌", "┐", "└", "┘", "─", "│"}
	doubleBox = boxChars{"╔", "╗", "╚", "╝", "═", "║"}
)

// drawBox draws a w x h box (border included) with title in its top
// border and content inside.
func drawBox(title, content string, w, h int, focused bool, s Styles) []string {
	if w < 2 || h < 2 {
		return fitLines("", max(w, 0), max(h, 0))
	}
	b, bs, ts := singleBox, s.Border, s.Title
	if focused {
		b, bs, ts = doubleBox, s.FocusBorder, s.FocusTitle
	}
	inner := w - 2
	t := ansi.Truncate(" "+title+" ", max(inner-2, 0), "…")
	top := bs.Render(b.tl+b.h) + ts.Render(t) + bs.Render(strings.Repeat(b.h, max(inner-1-ansi.StringWidth(t), 0))+b.tr)
	out := []string{top}
	v := bs.Render(b.v)
	for _, l := range fitLines(content, inner, h-2) {
		out = append(out, v+l+v)
	}
	out = append(out, bs.Render(b.bl+strings.Repeat(b.h, inner)+b.br))
	return out
}

// columns flows text's lines into as many columns as the height needs,
// each as wide as its widest line plus a gap, within w.
func columns(text string, w, h int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if h <= 0 || len(lines) <= h {
		return text
	}
	var blocks [][]string
	for start := 0; start < len(lines); start += h {
		col := lines[start:min(start+h, len(lines))]
		cw := 0
		for _, l := range col {
			cw = max(cw, ansi.StringWidth(l))
		}
		blocks = append(blocks, fitLines(strings.Join(col, "\n"), cw+3, h))
	}
	out := joinColumns(blocks...)
	for i := range out {
		out[i] = fit(out[i], w)
	}
	return strings.Join(out, "\n")
}

// joinColumns puts blocks of equal height side by side.
func joinColumns(blocks ...[]string) []string {
	if len(blocks) == 0 {
		return nil
	}
	out := make([]string, len(blocks[0]))
	for i := range out {
		var sb strings.Builder
		for _, b := range blocks {
			if i < len(b) {
				sb.WriteString(b[i])
			}
		}
		out[i] = sb.String()
	}
	return out
}
