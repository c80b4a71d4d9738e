// Package header gives views over the bytes of IPv4, ICMP, UDP and TCP
// headers (include/uapi/linux/ip.h, icmp.h, udp.h, tcp.h): accessor
// methods read and write fields in place, without parsing into copies,
// and the Internet checksum helpers compute what ip_fast_csum,
// csum_partial and csum_tcpudp_magic compute. The stack's own parsing
// stays here; gopacket is used only as an independent oracle in tests.
package header
