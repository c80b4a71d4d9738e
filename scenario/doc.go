// Package scenario reads packetdrill-style scripts and runs them against a
// kernel. So far it has the syscall console: lines in packetdrill's syscall
// syntax (socket(..., SOCK_STREAM, IPPROTO_TCP) = 3) run one by one as a
// process's system calls, each printed as an ftrace-style function graph.
// Packet lines, the conformance runner and the lecture scenarios come with
// the scenarios issue.
package scenario
