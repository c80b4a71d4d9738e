package stack

import (
	"encoding/binary"
	"iter"

	"github.com/stackscope/stackscope/sockets"
	"github.com/stackscope/stackscope/tracing"
)

type taskYield uint8

const (
	yieldDone  taskYield = iota + 1 // the syscall finished
	yieldSleep                      // the task went to sleep
)

// task is a kernel task (a thread): the kernel stack a process's syscall
// runs on. It is a coroutine: the loop resumes it, and it hands control
// back when the syscall is done or when it sleeps in schedule().
type task struct {
	tid      uint32
	p        *Process
	k        *Kernel
	next     func() (taskYield, bool)
	stop     func()
	yield    func(taskYield) bool
	req      *syscallReq
	res      result
	sleeping bool
	queued   bool
	timedOut bool
	signal   bool // signal_pending
	wq       *sockets.WaitQueue
	timer    *Timer
	rbuf     []byte // the user's receive buffer, reused (see dispatch)
}

func (k *Kernel) newTask(p *Process) *task {
	// The first thread's tid is the pid; threads share the pid space.
	tid := p.Pid
	if len(p.tasks) > 0 {
		tid = k.nextPid
		k.nextPid++
	}
	t := &task{tid: tid, p: p, k: k}
	t.next, t.stop = iter.Pull(func(yield func(taskYield) bool) {
		t.yield = yield
		for {
			t.res = k.dispatch(t, &t.req.sc)
			if !yield(yieldDone) {
				return
			}
		}
	})
	p.tasks = append(p.tasks, t)
	return t
}

// Wake makes a sleeping task runnable (try_to_wake_up); the loop resumes it
// after the current work. Waking a task that is not asleep does nothing.
func (t *task) Wake() {
	if !t.sleeping || t.queued {
		return
	}
	t.k.tr.Point(fnTryToWakeUp, tracing.Int(int64(t.tid)), tracing.Arg{})
	t.queued = true
	t.k.ready = append(t.k.ready, t)
}

// resume runs t until its syscall finishes or it sleeps. Only the loop
// (outside any task) resumes tasks.
func (k *Kernel) resume(t *task) {
	prevTask := k.tr.Task()
	k.current = t
	k.tr.SetTask(t.tid)
	y, ok := t.next()
	k.tr.SetTask(prevTask)
	k.current = nil
	if !ok || y == yieldDone {
		req := t.req
		t.req = nil
		t.signal = false // delivered on the way back to user space
		req.reply <- t.res
	}
}

// runReady resumes woken tasks in the order they were woken.
func (k *Kernel) runReady() {
	if k.current != nil {
		return
	}
	if k.rec != nil && len(k.ready) > 0 && k.recBegin(recRunReady, nil) {
		defer k.recEnd()
	}
	for len(k.ready) > 0 {
		t := k.ready[0]
		k.ready = k.ready[1:]
		t.queued = false
		k.resume(t)
	}
}

// SleepOn is prepare_to_wait + schedule_timeout + finish_wait for the
// current task (sockets.Sched).
func (k *Kernel) SleepOn(wq *sockets.WaitQueue, exclusive bool, timeout int64) (int64, bool) {
	t := k.current
	if t == nil || t.signal {
		// Not in process context, or a signal is already pending: the
		// kernel would not sleep either.
		return timeout, t != nil && t.signal
	}
	wq.Add(t, exclusive)
	t.wq = wq
	remaining, sig := k.scheduleTimeout(t, timeout)
	wq.Remove(t)
	t.wq = nil
	return remaining, sig
}

// scheduleTimeout is schedule_timeout for task t, which its caller has put
// on whatever wait queues should wake it: sleep until a wake-up, a signal
// or the timeout, and return the time left and whether a signal came.
func (k *Kernel) scheduleTimeout(t *task, timeout int64) (int64, bool) {
	start := k.clock.Now()
	if timeout != sockets.MaxScheduleTimeout {
		t.timedOut = false
		t.timer = NewTimer("process_timeout", func() {
			t.timedOut = true
			t.Wake()
		})
		k.ModTimer(t.timer, start+timeout)
	}
	k.tr.Enter1(fnScheduleTimeout, tracing.Int(timeout))
	t.sleeping = true
	if !t.yield(yieldSleep) {
		// The kernel is stopping: unwind the syscall as if a signal came.
		t.signal = true
	}
	t.sleeping = false
	if t.timer != nil {
		k.DelTimer(t.timer)
		t.timer = nil
	}
	remaining := timeout
	if timeout != sockets.MaxScheduleTimeout {
		remaining = max(timeout-(k.clock.Now()-start), 0)
	}
	k.tr.Exit(fnScheduleTimeout, tracing.Int(remaining))
	return remaining, t.signal
}

// Capable is capable(): every process runs as root with all capabilities.
func (k *Kernel) Capable(int) bool { return true }

// interrupt sends a signal to the process: its sleeping tasks wake with
// signal_pending set, and their syscalls return EINTR.
// interruptCall interrupts one syscall in flight, if it sleeps, as a
// signal to its thread would: it returns EINTR.
func (p *Process) interruptCall(pd *Pending) error {
	_, err := p.k.Do("interrupt-call", func(k *Kernel) any {
		for _, t := range p.tasks {
			if t.req != nil && t.req.reply == pd.reply && t.sleeping {
				if k.rec != nil && k.recBegin(recInterrupt, func(b []byte) []byte {
					return binary.AppendUvarint(b, t.req.id)
				}) {
					defer k.recEnd()
				}
				k.interruptTask(t)
			}
		}
		return nil
	})
	return err
}

// interruptTask delivers a signal to one sleeping task.
func (k *Kernel) interruptTask(t *task) {
	t.signal = true
	t.Wake()
}

func (k *Kernel) interrupt(p *Process) int {
	n := 0
	for _, t := range p.tasks {
		if t.sleeping {
			t.signal = true
			t.Wake()
			n++
		}
	}
	return n
}
