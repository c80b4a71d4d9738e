package tracing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Bookmark is a "stop here and explain" point in a trace: an event, a
// title and a note, made in the inspector while replaying.
type Bookmark struct {
	Seq   uint64 `json:"event"`
	Title string `json:"title"`
	Note  string `json:"note,omitempty"`
}

// Bookmarks are a trace's bookmarks, kept in a side file next to it
// (TRACE.bookmarks.json) so that the trace itself never changes.
type Bookmarks struct {
	path string
	list []Bookmark // by event
}

// BookmarksPath is the side file of a trace.
func BookmarksPath(trace string) string { return trace + ".bookmarks.json" }

// LoadBookmarks reads a trace's bookmarks; a trace without a side file
// has none.
func LoadBookmarks(trace string) (*Bookmarks, error) {
	b := &Bookmarks{path: BookmarksPath(trace)}
	data, err := os.ReadFile(b.path)
	if errors.Is(err, fs.ErrNotExist) {
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bookmarks: %w", err)
	}
	var f struct {
		Bookmarks []Bookmark `json:"bookmarks"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("bookmarks %s: %w", b.path, err)
	}
	for _, m := range f.Bookmarks {
		if m.Seq == 0 {
			return nil, fmt.Errorf("bookmarks %s: %q has no event number", b.path, m.Title)
		}
	}
	b.list = f.Bookmarks
	sort.SliceStable(b.list, func(i, j int) bool { return b.list[i].Seq < b.list[j].Seq })
	return b, nil
}

// List returns the bookmarks in event order.
func (b *Bookmarks) List() []Bookmark { return append([]Bookmark(nil), b.list...) }

// At returns the bookmark at event seq, if there is one.
func (b *Bookmarks) At(seq uint64) (Bookmark, bool) {
	for _, m := range b.list {
		if m.Seq == seq {
			return m, true
		}
	}
	return Bookmark{}, false
}

// Set adds a bookmark, or replaces the one at the same event, and saves
// the side file.
func (b *Bookmarks) Set(m Bookmark) error {
	m.Title, m.Note = strings.TrimSpace(m.Title), strings.TrimSpace(m.Note)
	if m.Seq == 0 || m.Title == "" {
		return errors.New("a bookmark needs an event and a title")
	}
	i := sort.Search(len(b.list), func(i int) bool { return b.list[i].Seq >= m.Seq })
	if i < len(b.list) && b.list[i].Seq == m.Seq {
		b.list[i] = m
	} else {
		b.list = append(b.list, Bookmark{})
		copy(b.list[i+1:], b.list[i:])
		b.list[i] = m
	}
	return b.save()
}

// Delete removes the bookmark at event seq and saves; it reports whether
// there was one.
func (b *Bookmarks) Delete(seq uint64) (bool, error) {
	for i, m := range b.list {
		if m.Seq == seq {
			b.list = append(b.list[:i], b.list[i+1:]...)
			return true, b.save()
		}
	}
	return false, nil
}

// Next returns the first bookmark after seq (dir > 0) or the last one
// before it (dir < 0).
func (b *Bookmarks) Next(seq uint64, dir int) (Bookmark, bool) {
	if dir > 0 {
		for _, m := range b.list {
			if m.Seq > seq {
				return m, true
			}
		}
		return Bookmark{}, false
	}
	for i := len(b.list) - 1; i >= 0; i-- {
		if b.list[i].Seq < seq {
			return b.list[i], true
		}
	}
	return Bookmark{}, false
}

// save writes the side file through a temporary file, so that a crash
// leaves the old one or the new one, never half of one.
func (b *Bookmarks) save() error {
	data, err := json.MarshalIndent(struct {
		Bookmarks []Bookmark `json:"bookmarks"`
	}{b.list}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(b.path), filepath.Base(b.path)+".*")
	if err != nil {
		return fmt.Errorf("bookmarks: %w", err)
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("bookmarks: %w", err)
	}
	if err := os.Rename(tmp.Name(), b.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("bookmarks: %w", err)
	}
	return nil
}
