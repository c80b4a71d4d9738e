package benchrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// HoldPort is the first port of every peer's holder, which accepts
// connections and keeps them open and idle for the memory row. A holder
// keeps HoldPerPort connections on each of its ports (HoldPort,
// HoldPort+1, ...): a process of stackscope's kernel has 1024 fds, as
// Linux's default RLIMIT_NOFILE gives, so its holder is a process per port.
const (
	HoldPort    = 5001
	HoldPerPort = 1000
)

// holdPorts is how many holder ports n connections need.
func holdPorts(n int) int { return max(1, (n+HoldPerPort-1)/HoldPerPort) }

// peerProc is a peer running as a child process inside a namespace. It
// speaks the line protocol of the package doc on its stdin and stdout.
type peerProc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stdout, a line at a time; closed at EOF
	errs  *tailBuffer // the end of its stderr, for messages
	wait  chan error  // the process's exit status, once
	once  sync.Once
}

// startPeer starts path with args on ns's thread (so the child is born in
// the namespace) and waits for its "ready".
func startPeer(ns *nsThread, name, path string, args []string, timeout time.Duration) (*peerProc, error) {
	p := &peerProc{name: name, lines: make(chan string, 16), errs: &tailBuffer{max: 4096}, wait: make(chan error, 1)}
	p.cmd = exec.Command(path, args...)
	// Its own process group keeps the terminal's Ctrl-C away from it (the
	// bench stops it in order); it dies with the thread that started it
	// should the bench be killed outright.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p.cmd.Stderr = p.errs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := ns.Do(p.cmd.Start); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, path, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.wait <- p.cmd.Wait()
	}()
	line, err := p.next(timeout)
	if err == nil && line != "ready" {
		err = fmt.Errorf("said %q instead of ready", line)
	}
	if err != nil {
		p.Stop()
		return nil, fmt.Errorf("%s did not start: %w%s", name, err, p.stderrNote())
	}
	return p, nil
}

// next returns the next line the peer prints.
func (p *peerProc) next(timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", errors.New("it exited")
		}
		return l, nil
	case <-t.C:
		return "", fmt.Errorf("no answer in %s", timeout)
	}
}

// request sends one request and returns the answer's fields after the
// echoed request word.
func (p *peerProc) request(req string, timeout time.Duration) ([]string, error) {
	if _, err := fmt.Fprintln(p.stdin, req); err != nil {
		return nil, fmt.Errorf("%s: send %q: %w%s", p.name, req, err, p.stderrNote())
	}
	line, err := p.next(timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w%s", p.name, req, err, p.stderrNote())
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != req {
		return nil, fmt.Errorf("%s: asked %q, got %q", p.name, req, line)
	}
	return f[1:], nil
}

// memory returns the peer's live heap plus goroutine stacks, in bytes.
func (p *peerProc) memory() (uint64, error) {
	f, err := p.request("mem", 30*time.Second)
	if err != nil {
		return 0, err
	}
	if len(f) < 2 {
		return 0, fmt.Errorf("%s: mem answer too short: %q", p.name, f)
	}
	heap, err1 := strconv.ParseUint(f[0], 10, 64)
	stack, err2 := strconv.ParseUint(f[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%s: mem answer %q: %w", p.name, f, err)
	}
	return heap + stack, nil
}

// held returns how many connections the peer's holder keeps.
func (p *peerProc) held() (int, error) {
	f, err := p.request("held", 10*time.Second)
	if err != nil {
		return 0, err
	}
	if len(f) < 1 {
		return 0, fmt.Errorf("%s: empty held answer", p.name)
	}
	return strconv.Atoi(f[0])
}

// Stop closes the peer's stdin, which ends it, and kills it if it has not
// exited within five seconds. It returns the exit error, if any.
func (p *peerProc) Stop() error {
	var err error
	p.once.Do(func() {
		_ = p.stdin.Close()
		go func() { // nobody reads its answers any more
			for range p.lines {
			}
		}()
		select {
		case err = <-p.wait:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			err = <-p.wait
		}
		if err != nil {
			err = fmt.Errorf("%s: %w%s", p.name, err, p.stderrNote())
		}
	})
	return err
}

func (p *peerProc) stderrNote() string {
	if s := strings.TrimSpace(p.errs.String()); s != "" {
		return "; it said: " + s
	}
	return ""
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
