// Package sockets models Linux's protocol-independent socket layer and the
// inet structures every connection-oriented protocol shares:
//
//   - net/socket.c: struct socket, the socket syscalls' entry points
//     (__sys_socket, __sys_bind, __sys_listen, do_accept, ...), sock_alloc
//     from sock_inode_cache, and the fd table (get_unused_fd_flags,
//     fd_install);
//   - net/core/sock.c: struct sock and sock_common, sk_alloc and
//     sk_prot_alloc, sock_init_data, the SOL_SOCKET options;
//   - include/net/inet_sock.h, inet_connection_sock.h, request_sock.h,
//     inet_timewait_sock.h: the inet socks, the request sock queue and the
//     accept queue;
//   - net/ipv4/inet_hashtables.c: inet_hashinfo with ehash, bhash, bhash2
//     and lhash2, the kernel's jhash-based hash functions, bind buckets from
//     tcp_bind_bucket and tcp_bind2_bucket.
//
// The address family and the protocols plug in through the kernel's own
// tables (net_families, struct proto, struct proto_ops), which the stack
// package fills at boot, so this package does not depend on IPv4 or TCP.
//
// Everything here runs on the kernel loop; nothing is safe for concurrent
// use. Sockets carry synthetic kernel addresses from their slab caches.
package sockets
