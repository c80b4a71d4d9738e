package ui

import (
	"fmt"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stackscope/stackscope/tracing"
)

// recordMsg says what became of a record command: started (path),
// stopped, or neither (an error, in status).
type recordMsg struct {
	started, stopped bool
	path             string
	status           string
}

// defaultTraceName is the file the record key proposes: the time now, so
// that recordings in a row do not overwrite each other.
func defaultTraceName() string {
	return "stackscope-" + time.Now().Format("20060102-150405") + ".trace"
}

// recordCommand is ":record FILE" (start) and ":record" (stop, or start
// with a fresh name). The kernel copies the inputs it spooled since boot
// into the file, so the trace replays from the start of the session and
// checks the events from now on.
func (m *Model) recordCommand(path string) tea.Cmd {
	k, recording := m.ctx.K, m.recording
	if _, ok := m.ctx.Src.(*ReplaySource); ok {
		m.status = "record: this is already a replay of a recording"
		return nil
	}
	if path == "" && recording != "" {
		return func() tea.Msg {
			st, err := k.StopRecording()
			if err != nil {
				return recordMsg{status: "record: " + err.Error()}
			}
			return recordMsg{stopped: true, status: fmt.Sprintf("recorded %d inputs and %d events to %s (stackscope replay %s)", st.Inputs, st.Events, st.Path, st.Path)}
		}
	}
	if path == "" {
		path = defaultTraceName()
	}
	if recording != "" {
		m.status = "record: already recording to " + recording + " (R stops it)"
		return nil
	}
	return func() tea.Msg {
		if _, err := os.Stat(path); err == nil {
			return recordMsg{status: "record: " + path + " exists; choose another name"}
		}
		if err := k.StartRecording(path, tracing.TraceOptions{}); err != nil {
			return recordMsg{status: "record: " + err.Error()}
		}
		return recordMsg{started: true, path: path, status: "recording to " + path + " (R stops)"}
	}
}
