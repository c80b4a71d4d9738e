// Package benchrun measures stackscope's speed against gVisor's netstack
// and the host kernel talking to itself, for `stackscope bench`.
//
// Every peer runs as a child process inside a network namespace the bench
// creates: stackscope's live mode (alone, recording to a trace file,
// recording to /dev/null, and alone again while the bench keeps the disk
// busy with a writer of its own, diskload.go) and gVisor's netstack
// (bench/gvisor, a module of its own) each on a TUN device, and the host
// kernel on the far end of a veth pair in a second namespace. The host's Linux TCP, in the first namespace, is the client
// of every row. Each child says "ready" on stdout when it serves, and
// answers "mem" (its live heap after a GC) and "held" (connections its
// holder keeps) one line at a time; closing its stdin ends it.
//
// What it does not do: tune anything for the run, measure UDP, or
// attribute kernel memory to the veth baseline (the host kernel's
// sockets are not a process's heap).
package benchrun
