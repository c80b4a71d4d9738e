package sockets

import "testing"

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
