// Package scenario reads packetdrill scripts and runs them against a
// kernel with a virtual clock.
//
//   - The console (console.go, call.go) runs syscall lines in packetdrill's
//     syntax (socket(..., SOCK_STREAM, IPPROTO_TCP) = 3) one by one as a
//     process's system calls, each printed as an ftrace-style function graph.
//   - The script parser (script.go, parse.go, parse_packet.go) reads a whole
//     packetdrill file: option lines, comments, backtick shell blocks,
//     %{ }% blocks, and timed syscall and packet lines.
//   - The runner (run.go, run_packet.go, run_syscall.go) plays the script's
//     remote peer on a script device: inbound packets are built with
//     sequence numbers relative to the ISNs, outbound ones are compared
//     field by field and in time with packetdrill's tolerance, and the
//     script's time is the kernel's virtual time. Runner.Step runs one line
//     at a time, for the inspector.
//   - The built-in lecture scenarios (builtin.go, builtin/*.pkt) are
//     scripts embedded in the binary, named after their files and described
//     by their first comment line.
//
// What the runner leaves out: no shell runs (the sysctls of packetdrill's
// common/defaults.sh and sysctl lines are applied where the kernel has
// them, the rest is reported); %{ }% blocks evaluate only asserts over
// tcpi_ fields; inbound UDP lines parse but are not injected, and an
// inbound ICMP error must name the segment it quotes ([1:1461(1460)]);
// sendmsg runs as sendto of its iovecs' total length; calls the console lacks fail as unsupported; TS vals
// are not compared (packetdrill's default). The model has no TSO, so the
// runner takes back-to-back segments sent at one moment as one TSO segment
// when a line expects a larger one.
package scenario
