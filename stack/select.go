package stack

import (
	"fmt"
	"strings"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

// PollFd is struct pollfd: a file descriptor, the events the caller waits
// for and, after poll, the events that are there (short in C).
type PollFd struct {
	Fd      int32
	Events  uint16
	Revents uint16
}

func (pfd PollFd) String() string {
	return fmt.Sprintf("{fd=%d, events=%s, revents=%s}", pfd.Fd, sockets.PollString(uint32(pfd.Events)),
		sockets.PollString(uint32(pfd.Revents)))
}

func pollFdsString(fds []PollFd) string {
	parts := make([]string, len(fds))
	for i, f := range fds {
		parts[i] = f.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pollWqueues is struct poll_wqueues: the poll table of one poll() call
// and the wait queues (with their files) it has put the task on.
type pollWqueues struct {
	pt      sockets.PollTable
	t       *task
	entries []pollEntry
}

type pollEntry struct {
	file *sockets.File
	wq   *sockets.WaitQueue
}

// doSysPoll is do_sys_poll (fs/select.c): poll(2). timeoutMs < 0 waits
// for ever, 0 not at all. It returns how many fds have events, 0 when the
// time ran out, EINTR for a signal and EINVAL for more fds than
// RLIMIT_NOFILE.
func (k *Kernel) doSysPoll(t *task, fds []PollFd, timeoutMs int64) (int, error) {
	tr := k.tr
	tr.Enter2(fnDoSysPoll, tracing.Uint(uint64(len(fds))), tracing.Int(timeoutMs))
	if len(fds) > sockets.RlimitNofile {
		tr.Exit(fnDoSysPoll, tracing.Errno(-tracing.EINVAL))
		return -1, sockets.Errno(tracing.EINVAL)
	}
	timeout := sockets.MaxScheduleTimeout
	if timeoutMs >= 0 {
		timeout = timeoutMs * 1e6 // poll_select_set_timeout
	}
	n, err := k.doPoll(t, fds, timeout)
	if err != nil {
		tr.Exit(fnDoSysPoll, tracing.Errno(sockets.ErrnoOf(err).Ret()))
		return -1, err
	}
	tr.Exit(fnDoSysPoll, tracing.Int(int64(n)))
	return n, nil
}

// doPoll is do_poll: ask every fd for its events; if none has any, sleep
// on all their wait queues until a wake-up, the timeout or a signal, and
// ask again. The kernel queues the task on the first pass only and its
// entries stay until poll_freewait; the model's wait-queue entries are
// removed when they fire (autoremove_wake_function), so every pass queues
// the task again where it is no longer queued.
func (k *Kernel) doPoll(t *task, fds []PollFd, timeout int64) (int, error) {
	wait := &pollWqueues{t: t}
	if timeout != 0 && t != nil {
		wait.pt.Qproc = wait.pollwait
	}
	defer k.pollFreewait(wait)
	timedOut := false
	for {
		count := 0
		for i := range fds {
			if k.doPollfd(t, &fds[i], &wait.pt) != 0 {
				count++
			}
		}
		if count == 0 && t != nil && t.signal {
			return -1, sockets.Errno(tracing.EINTR) // -ERESTARTNOHAND, seen as EINTR
		}
		if count > 0 || timedOut || wait.pt.Qproc == nil {
			return count, nil
		}
		remaining, _ := k.scheduleTimeout(t, timeout)
		if timeout != sockets.MaxScheduleTimeout {
			timeout = remaining
			timedOut = remaining == 0
		}
	}
}

// pollwait is __pollwait: queue the polling task on wq (once) and hold a
// reference to the file, so that a close() meanwhile cannot free the
// socket under the wait queue entry.
func (w *pollWqueues) pollwait(file *sockets.File, wq *sockets.WaitQueue) {
	if wq.Has(w.t) {
		return
	}
	for _, e := range w.entries {
		if e.wq == wq {
			wq.Add(w.t, false)
			return
		}
	}
	sockets.Fget(file)
	w.entries = append(w.entries, pollEntry{file: file, wq: wq})
	wq.Add(w.t, false)
}

// pollFreewait is poll_freewait: off every wait queue, and the file
// references dropped.
func (k *Kernel) pollFreewait(w *pollWqueues) {
	for _, e := range w.entries {
		e.wq.Remove(w.t)
		sockets.Fput(k.net, e.file)
	}
	w.entries = nil
}

// doPollfd is do_pollfd: the events of one pollfd. A negative fd is
// skipped (revents 0), an fd with no file is POLLNVAL; otherwise the
// file's poll (sock_poll) answers, filtered to the events asked for plus
// POLLERR and POLLHUP, which are always reported. Files that are not
// sockets (the terminal on fds 0-2) have no poll in the model and report
// DEFAULT_POLLMASK.
func (k *Kernel) doPollfd(t *task, pfd *PollFd, pt *sockets.PollTable) uint32 {
	var mask uint32
	if pfd.Fd >= 0 {
		var f *sockets.File
		if t != nil {
			f = t.p.Fdt.Get(int(pfd.Fd))
		}
		if f == nil {
			mask = sockets.POLLNVAL
		} else {
			filter := uint32(pfd.Events) | sockets.POLLERR | sockets.POLLHUP
			pt.Key = filter
			if f.PrivateData != nil {
				mask = sockets.SockPoll(k.net, f, pt)
			} else {
				mask = sockets.DEFAULT_POLLMASK
			}
			mask &= filter
		}
	}
	k.tr.Point(fnDoPollfd, tracing.Int(int64(pfd.Fd)), tracing.Uint(uint64(mask)))
	pfd.Revents = uint16(mask)
	return mask
}
