package scenario

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// builtinFS holds the built-in lecture scenarios, one packetdrill script
// per file, named after the scenario.
//
//go:embed builtin/*.pkt
var builtinFS embed.FS

// Builtin is a lecture scenario shipped inside the binary.
type Builtin struct {
	// Name is the file name without .pkt: "handshake".
	Name string
	// Description is the script's first comment line, without the //.
	Description string
	// Text is the whole script.
	Text string
}

// Parse parses the scenario; its file name is "builtin/NAME.pkt".
func (b Builtin) Parse() (*Script, error) {
	return Parse("builtin/"+b.Name+".pkt", b.Text)
}

// Builtins returns every built-in scenario, in name order.
func Builtins() ([]Builtin, error) {
	files, err := fs.Glob(builtinFS, "builtin/*.pkt")
	if err != nil {
		return nil, fmt.Errorf("built-in scenarios: %w", err)
	}
	sort.Strings(files)
	list := make([]Builtin, 0, len(files))
	for _, f := range files {
		b, err := readBuiltin(f)
		if err != nil {
			return nil, err
		}
		list = append(list, b)
	}
	return list, nil
}

// LookupBuiltin returns the built-in scenario called name, and whether
// there is one.
func LookupBuiltin(name string) (Builtin, bool) {
	if name == "" || strings.ContainsAny(name, "/\\*?[") {
		return Builtin{}, false
	}
	b, err := readBuiltin("builtin/" + name + ".pkt")
	if err != nil {
		return Builtin{}, false
	}
	return b, true
}

func readBuiltin(file string) (Builtin, error) {
	data, err := builtinFS.ReadFile(file)
	if err != nil {
		return Builtin{}, fmt.Errorf("built-in scenario %s: %w", file, err)
	}
	text := string(data)
	return Builtin{Name: strings.TrimSuffix(path.Base(file), ".pkt"), Description: firstComment(text), Text: text}, nil
}

// firstComment is the text of a script's first // comment line.
func firstComment(text string) string {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if c, ok := strings.CutPrefix(line, "//"); ok {
			return strings.TrimSpace(c)
		}
		if line != "" {
			return ""
		}
	}
	return ""
}
