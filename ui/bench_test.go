package ui

import (
	"fmt"
	"testing"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/stack"
	"github.com/stackscope/stackscope/tracing"
)

// benchSource is a source with no kernel: the benchmarks feed frames
// directly.
type benchSource struct{}

func (benchSource) Kernel() *stack.Kernel { return nil }
func (benchSource) Mode() Mode            { return ModeLive }
func (benchSource) Title() string         { return "bench" }
func (benchSource) Banner() string        { return "" }
func (benchSource) Close() error          { return nil }

// bigFrame is a frame of a busy machine: 10,000 sockets (one listener
// with 100,000 skbs queued across its children), and the newest 4,096 of
// 1,000,000 trace events (what the feed hands the panes).
func bigFrame() *Frame {
	snap := &stack.Snapshot{TimeNs: 123456789000}
	const socks, skbs = 10000, 100000
	perSock := skbs / socks
	for i := range socks {
		s := stack.SockSnap{Sk: fmt.Sprintf("0xffff888%09x", i*2368), Proto: "TCP"}
		s.SockCommon.SkcState = "ESTABLISHED"
		s.SockCommon.SkcRcvSaddr, s.SockCommon.SkcNum = "10.77.0.2", 80
		s.SockCommon.SkcDaddr, s.SockCommon.SkcDport = fmt.Sprintf("10.77.%d.%d", i/250, i%250), uint16(20000+i%40000)
		s.SkRcvbuf, s.SkSndbuf = 131072, 46080
		s.Tcp = &stack.TcpSnap{SndCwnd: 10, SrttUs: 800, RcvNxt: uint32(i * 1448), CopiedSeq: 0}
		s.Icsk = &stack.IcskSnap{IcskRtoNs: 201e6}
		s.SkReceiveQueue.Qlen = uint32(perSock)
		for j := range perSock {
			s.SkReceiveQueue.Skbs = append(s.SkReceiveQueue.Skbs, fmt.Sprintf("0xffff889%09x", (i*perSock+j)*256))
		}
		snap.Socks = append(snap.Socks, s)
	}
	r := tracing.NewRing(feedEvents)
	fns := tracing.Funcs()
	for i := range 1000000 {
		ev := tracing.Event{Seq: uint64(i + 1), Func: fns[i%len(fns)].ID, Kind: tracing.Kind(i % 2), Depth: uint16(i % 7)}
		r.Push(&ev)
	}
	f := &Frame{Snap: snap, Prev: snap, EventSeq: 1000000}
	f.Events = r.Last(nil, frameEvents)
	return f
}

// benchModel is the root model over a frame, at 160x45.
func benchModel(f *Frame) *Model {
	m := &Model{ctx: &Context{Src: benchSource{}, Styles: NewStyles(true), Keys: DefaultKeys(), Frame: f},
		filters: map[int]string{}, input: textinput.New(), width: 160, height: 45}
	m.panes = newPanes(benchSource{})
	m.layout()
	for _, p := range m.panes {
		p.Refresh(m.ctx)
	}
	return m
}

// BenchmarkFrameRender is one screen of the main grid over the big frame
// (what the renderer asks for after every message).
func BenchmarkFrameRender(b *testing.B) {
	m := benchModel(bigFrame())
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkFrameRefresh is the work a new frame causes: every pane
// prepares its rows.
func BenchmarkFrameRefresh(b *testing.B) {
	m := benchModel(bigFrame())
	b.ResetTimer()
	for b.Loop() {
		for _, p := range m.panes {
			p.Refresh(m.ctx)
		}
	}
}

// BenchmarkKeyLatency is a key press answered: the update and the next
// screen (cursor down in the sockets table).
func BenchmarkKeyLatency(b *testing.B) {
	m := benchModel(bigFrame())
	down := tea.KeyPressMsg{Code: tea.KeyDown}
	b.ResetTimer()
	for b.Loop() {
		_, _ = m.Update(down)
		_ = m.View()
	}
}
