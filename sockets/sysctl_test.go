package sockets

import (
	"strings"
	"testing"
)

// TestBufferSysctlsAsLinuxTakesThem: tcp_rmem and tcp_wmem take three
// integers from 1 up in any order (proc_dointvec_minmax with a minimum of
// 1, nothing more); tcp_moderate_rcvbuf is a u8, tcp_app_win 0 to 31.
func TestBufferSysctlsAsLinuxTakesThem(t *testing.T) {
	s := DefaultSysctls(262144)
	if s.TcpModerateRcvbuf != 1 || s.TcpAppWin != 31 {
		t.Errorf("defaults: tcp_moderate_rcvbuf %d, tcp_app_win %d, want 1 and 31", s.TcpModerateRcvbuf, s.TcpAppWin)
	}
	for _, ok := range [][2]string{
		{"net.ipv4.tcp_rmem", "4096 8192 1000"},
		{"net.ipv4.tcp_wmem", "1 1 1"},
		{"net.ipv4.tcp_moderate_rcvbuf", "0"},
		{"net.ipv4.tcp_app_win", "0"},
	} {
		if err := s.Set(ok[0], ok[1]); err != nil {
			t.Errorf("set %s=%s: %v", ok[0], ok[1], err)
		}
	}
	if s.TcpRmem != [3]int{4096, 8192, 1000} || s.TcpModerateRcvbuf != 0 || s.TcpAppWin != 0 {
		t.Errorf("after setting: tcp_rmem %v, tcp_moderate_rcvbuf %d, tcp_app_win %d", s.TcpRmem, s.TcpModerateRcvbuf, s.TcpAppWin)
	}
	for _, bad := range [][2]string{
		{"net.ipv4.tcp_rmem", "0 131072 6291456"},
		{"net.ipv4.tcp_rmem", "4096 131072"},
		{"net.ipv4.tcp_wmem", "4096 16384 4294967296"},
		{"net.ipv4.tcp_moderate_rcvbuf", "256"},
		{"net.ipv4.tcp_app_win", "32"},
	} {
		if err := s.Set(bad[0], bad[1]); err == nil {
			t.Errorf("set %s=%s accepted", bad[0], bad[1])
		}
	}
}

// TestCongestionControlLists: tcp_available_congestion_control lists the
// algorithms in registration order and cannot be written;
// tcp_allowed_congestion_control takes names among them and keeps them
// in that order, once each; a recording's boot sets only what can be set.
func TestCongestionControlLists(t *testing.T) {
	s := DefaultSysctls(1024)
	for name, want := range map[string]string{
		"net.ipv4.tcp_available_congestion_control": "reno cubic",
		"net.ipv4.tcp_allowed_congestion_control":   "reno cubic",
	} {
		if got, err := s.Get(name); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if err := s.Set("net.ipv4.tcp_available_congestion_control", "cubic"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("writing tcp_available_congestion_control: %v, want read-only", err)
	}
	if err := s.Set("net.ipv4.tcp_allowed_congestion_control", "cubic reno cubic"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("net.ipv4.tcp_allowed_congestion_control"); got != "reno cubic" {
		t.Errorf("allowed after 'cubic reno cubic' = %q, want \"reno cubic\"", got)
	}
	if err := s.Set("net.ipv4.tcp_allowed_congestion_control", "bbr"); err == nil {
		t.Error("allowed took bbr, which the model does not have")
	}
	for _, kv := range s.Writable() {
		if kv[0] == "net.ipv4.tcp_available_congestion_control" {
			t.Error("Writable lists the read-only tcp_available_congestion_control")
		}
	}
}
