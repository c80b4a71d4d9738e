package sockets

import "github.com/stackscope/stackscope/tracing"

var (
	fnSysSocket, fnSysSocketCreate, fnSockCreateWrapper, fnSockCreate        tracing.FuncID
	fnSockAlloc, fnNewInodePseudo, fnSockAllocInode, fnSockMapFd             tracing.FuncID
	fnGetUnusedFdFlags, fnSockAllocFile, fnAllocFilePseudo, fnFdInstall      tracing.FuncID
	fnSockRelease, fnSockReleaseCore, fnSockFreeInode, fnSockfdLookupLight   tracing.FuncID
	fnSysBind, fnSysBindSocket, fnSysListen, fnSysListenSocket               tracing.FuncID
	fnSysAccept4, fnSysAccept4File, fnDoAccept, fnSysClose, fnFileCloseFd    tracing.FuncID
	fnFput, fnSockClose, fnFileFree, fnSysGetsockname, fnSysGetpeername      tracing.FuncID
	fnSysSetsockopt, fnDoSockSetsockopt, fnSysGetsockopt, fnDoSockGetsockopt tracing.FuncID
	fnSysShutdown, fnSysShutdownSock, fnDoFcntl, fnSetfl                     tracing.FuncID
	fnSkSetsockopt, fnSkGetsockopt, fnSkAlloc, fnSkProtAlloc, fnSockLockInit tracing.FuncID
	fnSockInitData, fnSockDefWakeup, fnSockDefReadable, fnLockSock           tracing.FuncID
	fnReleaseSock, fnSkFree, fnSkProtFree, fnSockGraft                       tracing.FuncID
	fnSecuritySocketCreate, fnSecuritySocketPostCreate, fnSecuritySkAlloc    tracing.FuncID
	fnSecuritySocketBind, fnSecuritySocketListen, fnSecuritySocketAccept     tracing.FuncID
	fnSecuritySocketGetsockname, fnSecuritySocketSetsockopt                  tracing.FuncID
	fnSecuritySocketGetsockopt, fnSecuritySocketShutdown                     tracing.FuncID
	fnTryModuleGet, fnModuleGet, fnModulePut                                 tracing.FuncID
	fnInetBindBucketCreate, fnInetBindBucketDestroy, fnInetBind2BucketCreate tracing.FuncID
	fnInetBind2BucketDestroy, fnInetBindHash, fnInetPutPort, fnInetHash      tracing.FuncID
	fnInetEhashNolisten, fnInetUnhash, fnSockPoll                            tracing.FuncID
	fnInetTwskHashdance, fnInetTwskKill, fnInetBhash2UpdateSaddr             tracing.FuncID
	fnSysIoctl, fnSockIoctl, fnSkIoctl                                       tracing.FuncID
)

const (
	socketC  = "net/socket.c"
	sockC    = "net/core/sock.c"
	hashC    = "net/ipv4/inet_hashtables.c"
	noopNote = " The model has no security modules or loadable modules, so here it does nothing."
)

func reg(name, file string, goFn any, args []string, explain string) tracing.FuncID {
	return tracing.Register(tracing.Spec{Name: name, File: file, Go: goFn, Args: args, Explain: explain})
}

func regInline(name, file string, goFn any, args []string, explain string) tracing.FuncID {
	return tracing.Register(tracing.Spec{Name: name, File: file, Go: goFn, Args: args, Explain: explain, Inline: true})
}

func init() {
	fd := []string{"fd"}
	sock := []string{"sock"}
	sk := []string{"sk"}
	fnSysSocket = reg("__sys_socket", socketC, SysSocket, []string{"family", "type", "protocol"},
		"The socket() system call. It creates the socket and gives it a file descriptor. "+
			"In 2.6 books this is sys_socket, reached on i386 through sys_socketcall.")
	fnSysSocketCreate = reg("__sys_socket_create", socketC, sysSocketCreate, []string{"family", "type", "protocol"},
		"Takes SOCK_NONBLOCK and SOCK_CLOEXEC out of the type argument (rejecting other bits) and calls sock_create.")
	fnSockCreateWrapper = reg("sock_create", socketC, SockCreate, []string{"family", "type", "protocol"},
		"Creates a socket in the calling process's network namespace: a thin wrapper around __sock_create.")
	fnSockCreate = reg("__sock_create", socketC, sockCreate, []string{"family", "type", "protocol"},
		"The generic part of socket creation: checks family and type, allocates struct socket with sock_alloc, "+
			"and calls the family's create function from net_families[] (inet_create for AF_INET).")
	fnSockAlloc = reg("sock_alloc", socketC, SockAlloc, nil,
		"Allocates a struct socket together with its inode (one socket_alloc object from sock_inode_cache), "+
			"because in Unix a socket is a file.")
	fnNewInodePseudo = regInline("new_inode_pseudo", "fs/inode.c", nil, nil,
		"Gets a new inode from the sockfs pseudo file system; sockfs's alloc_inode is sock_alloc_inode.")
	fnSockAllocInode = reg("sock_alloc_inode", socketC, nil, nil,
		"Takes a socket_alloc (struct socket plus struct inode) from the sock_inode_cache slab.")
	fnSockMapFd = reg("sock_map_fd", socketC, SockMapFd, []string{"sock", "flags"},
		"Gives the socket a file descriptor: reserves the lowest free fd, wraps the socket in a struct file "+
			"and installs it. In 2.6 this was sock_alloc_fd followed by sock_attach_fd.")
	fnGetUnusedFdFlags = reg("get_unused_fd_flags", "fs/file.c", GetUnusedFdFlags, []string{"flags"},
		"Reserves the lowest free file descriptor in the process's table (POSIX requires the lowest).")
	fnSockAllocFile = reg("sock_alloc_file", socketC, SockAllocFile, []string{"sock", "flags"},
		"Makes the struct file for a socket: f_op = socket_file_ops, private_data = the socket, O_NONBLOCK from the flags.")
	fnAllocFilePseudo = reg("alloc_file_pseudo", "fs/file_table.c", nil, nil,
		"Allocates a struct file (from the filp slab) on a pseudo file system's inode.")
	fnFdInstall = reg("fd_install", "fs/file.c", FdInstall, []string{"fd", "file"},
		"Points the reserved descriptor at the file. From now on the process can use the fd.")
	fnSockRelease = reg("sock_release", socketC, SockRelease, sock,
		"Tears down a socket that never got a file (an error path): the protocol releases its sock and the inode is freed.")
	fnSockReleaseCore = reg("__sock_release", socketC, nil, sock,
		"Calls the socket's release operation (inet_release), which hands the sock to the protocol's close.")
	fnSockFreeInode = reg("sock_free_inode", socketC, nil, sock,
		"Returns the socket_alloc object (struct socket plus inode) to sock_inode_cache.")
	fnSockfdLookupLight = regInline("sockfd_lookup_light", socketC, SockfdLookupLight, fd,
		"Finds the socket behind a file descriptor: EBADF if the fd is not open, ENOTSOCK if it is not a socket.")
	fnSysBind = reg("__sys_bind", socketC, SysBind, []string{"fd", "addrlen"},
		"The bind() system call: finds the socket and passes the address on to the protocol family.")
	fnSysBindSocket = reg("__sys_bind_socket", socketC, nil, sock,
		"Runs the security hook and the socket's bind operation (inet_bind).")
	fnSysListen = reg("__sys_listen", socketC, SysListen, []string{"fd", "backlog"},
		"The listen() system call.")
	fnSysListenSocket = reg("__sys_listen_socket", socketC, nil, []string{"sock", "backlog"},
		"Clamps the backlog to net.core.somaxconn (4096 since 5.4, 128 before) and calls the socket's listen operation.")
	fnSysAccept4 = reg("__sys_accept4", socketC, SysAccept4, []string{"fd", "flags"},
		"The accept() and accept4() system calls (2.6: sys_accept; the __sys_ helpers date from 4.17).")
	fnSysAccept4File = reg("__sys_accept4_file", socketC, nil, []string{"file", "flags"},
		"Reserves a descriptor for the new connection, accepts it with do_accept, and installs the new file.")
	fnDoAccept = reg("do_accept", socketC, doAccept, []string{"file", "flags"},
		"Makes a new struct socket and file for the connection, then lets the protocol fill it (inet_accept) and reports the peer's address.")
	fnSysClose = reg("close", "fs/open.c", SysClose, fd,
		"The close() system call: takes the fd out of the table; the last reference to the file releases the socket. "+
			"In 2.6 the path was sys_close -> fput -> sock_close -> sock_release.")
	fnFileCloseFd = regInline("file_close_fd", "fs/file.c", nil, fd,
		"Removes a descriptor from the process's table and returns its file.")
	fnFput = reg("__fput", "fs/file_table.c", nil, []string{"file"},
		"Releases a file whose last reference is gone: calls f_op->release (sock_close for sockets), drops the inode and frees the struct file.")
	fnSockClose = reg("sock_close", socketC, nil, sock,
		"The release operation of socket_file_ops: closing the last fd of a socket ends up here.")
	fnFileFree = reg("file_free", "fs/file_table.c", nil, []string{"file"},
		"Returns the struct file to the filp slab.")
	fnSysGetsockname = reg("__sys_getsockname", socketC, SysGetsockname, fd,
		"The getsockname() system call: asks the family for the local address (inet_getname).")
	fnSysGetpeername = reg("__sys_getpeername", socketC, nil, fd,
		"The getpeername() system call: asks the family for the peer's address (inet_getname with peer set).")
	fnSysSetsockopt = reg("__sys_setsockopt", socketC, SysSetsockopt, []string{"fd", "level", "optname"},
		"The setsockopt() system call.")
	fnDoSockSetsockopt = reg("do_sock_setsockopt", socketC, nil, []string{"sock", "level", "optname"},
		"Sends SOL_SOCKET options to sock_setsockopt and every other level to the protocol (tcp_setsockopt for IPPROTO_TCP).")
	fnSysGetsockopt = reg("__sys_getsockopt", socketC, SysGetsockopt, []string{"fd", "level", "optname"},
		"The getsockopt() system call.")
	fnSockPoll = reg("sock_poll", socketC, SockPoll, []string{"sock"},
		"poll() on a socket file: asks the socket type's poll (tcp_poll, udp_poll) which events are ready.")
	fnDoSockGetsockopt = reg("do_sock_getsockopt", socketC, nil, []string{"sock", "level", "optname"},
		"Sends SOL_SOCKET options to sk_getsockopt and every other level to the protocol.")
	fnSysIoctl = reg("do_vfs_ioctl", "fs/ioctl.c", SysIoctl, []string{"fd", "cmd"},
		"The ioctl() system call: no generic command matches a socket, so the file's own ioctl, sock_ioctl, "+
			"gets it. A file that is not a socket answers ENOTTY.")
	fnSockIoctl = reg("sock_ioctl", socketC, sockIoctl, []string{"sock", "cmd"},
		"A socket's ioctl: sock_do_ioctl asks the socket type (inet_ioctl); a command no layer knows would go to the "+
			"network devices (dev_ioctl), and the caller gets ENOTTY.")
	fnSkIoctl = reg("sk_ioctl", sockC, SkIoctl, []string{"sk", "cmd"},
		"Asks the protocol's ioctl (tcp_ioctl) for an int and copies it to the user's pointer (sock_ioctl_out).")
	fnSysShutdown = reg("__sys_shutdown", socketC, SysShutdown, []string{"fd", "how"},
		"The shutdown() system call.")
	fnSysShutdownSock = reg("__sys_shutdown_sock", socketC, nil, []string{"sock", "how"},
		"Runs the security hook and the socket's shutdown operation (inet_shutdown).")
	fnDoFcntl = reg("do_fcntl", "fs/fcntl.c", SysFcntl, []string{"fd", "cmd", "arg"},
		"The fcntl() system call: F_GETFL/F_SETFL read and change the file's flags, such as O_NONBLOCK.")
	fnSetfl = reg("setfl", "fs/fcntl.c", nil, []string{"fd", "arg"},
		"Changes the file's status flags. A socket's blocking mode lives here, in the file, not in the socket.")
	fnSkSetsockopt = reg("sk_setsockopt", sockC, SockSetsockopt, []string{"sk", "optname", "val"},
		"Handles the SOL_SOCKET options: SO_REUSEADDR sets sk_reuse, SO_RCVBUF and SO_SNDBUF double the value "+
			"(for bookkeeping overhead) and lock it, SO_LINGER sets the close timeout, SO_KEEPALIVE a flag.")
	fnSkGetsockopt = reg("sk_getsockopt", sockC, SockGetsockopt, []string{"sk", "optname"},
		"Reads a SOL_SOCKET option back. SO_RCVBUF reads the doubled value the kernel really uses.")
	fnSkAlloc = reg("sk_alloc", sockC, SkAlloc, []string{"family", "kern"},
		"Allocates the protocol's struct sock (for TCP a whole tcp_sock), sets family and protocol, "+
			"initialises the socket lock, and sets sk_wmem_alloc to 1.")
	fnSkProtAlloc = reg("sk_prot_alloc", sockC, skProtAlloc, []string{"slab", "family"},
		"Takes the sock from the protocol's own slab cache (\"TCP\") if proto_register made one, otherwise from kmalloc; "+
			"then the security hook and a reference on the protocol's module, either of which can fail and free it again.")
	fnSockLockInit = reg("sock_lock_init", sockC, sockLockInit, sk,
		"Initialises the socket lock: a spinlock for softirq context plus an \"owned by a process\" flag.")
	fnSockInitData = reg("sock_init_data", sockC, SockInitData, []string{"sock", "sk"},
		"Sets up the generic sock: empty queues, default buffer sizes, state CLOSE, the default callbacks "+
			"(sk_data_ready, sk_state_change ...), the link to struct socket, and sk_refcnt = 1.")
	fnSockDefWakeup = reg("sock_def_wakeup", sockC, nil, sk,
		"The default sk_state_change: wakes every task sleeping on the socket.")
	fnSockDefReadable = reg("sock_def_readable", sockC, nil, sk,
		"The default sk_data_ready: wakes a task waiting to read (or to accept).")
	fnLockSock = reg("lock_sock", sockC, LockSock, sk,
		"A process takes the socket. Packets that arrive while it holds it wait in sk_backlog.")
	fnReleaseSock = reg("release_sock", sockC, ReleaseSock, sk,
		"Gives the socket back, first processing any packets that queued on sk_backlog meanwhile.")
	fnSkFree = reg("sk_free", sockC, nil, sk,
		"The last reference to a sock is gone: run its destructor, purge its queues and free it.")
	fnSkProtFree = reg("sk_prot_free", sockC, nil, sk,
		"Returns the sock object to the protocol's slab cache (or kfree).")
	fnSockGraft = reg("sock_graft", "include/net/sock.h", SockGraft, []string{"sk", "parent"},
		"Attaches an accepted sock to its new struct socket: they point at each other and share the socket's wait queue.")
	fnSecuritySocketCreate = regInline("security_socket_create", "security/security.c", nil, []string{"family"},
		"The LSM hook (SELinux, AppArmor) that may forbid creating the socket."+noopNote)
	fnSecuritySocketPostCreate = regInline("security_socket_post_create", "security/security.c", nil, sock,
		"The LSM hook that labels the new socket."+noopNote)
	fnSecuritySkAlloc = regInline("security_sk_alloc", "security/security.c", nil, sk,
		"The LSM hook that attaches security data to a new sock; if it fails sk_prot_alloc frees the sock again."+noopNote)
	fnSecuritySocketBind = regInline("security_socket_bind", "security/security.c", nil, sock,
		"The LSM hook that may forbid the bind."+noopNote)
	fnSecuritySocketListen = regInline("security_socket_listen", "security/security.c", nil, sock,
		"The LSM hook that may forbid listening."+noopNote)
	fnSecuritySocketAccept = regInline("security_socket_accept", "security/security.c", nil, sock,
		"The LSM hook that may forbid accepting."+noopNote)
	fnSecuritySocketGetsockname = regInline("security_socket_getsockname", "security/security.c", nil, sock,
		"The LSM hook on getsockname."+noopNote)
	fnSecuritySocketSetsockopt = regInline("security_socket_setsockopt", "security/security.c", nil, sock,
		"The LSM hook on setsockopt."+noopNote)
	fnSecuritySocketGetsockopt = regInline("security_socket_getsockopt", "security/security.c", nil, sock,
		"The LSM hook on getsockopt."+noopNote)
	fnSecuritySocketShutdown = regInline("security_socket_shutdown", "security/security.c", nil, sock,
		"The LSM hook on shutdown."+noopNote)
	fnTryModuleGet = regInline("try_module_get", "kernel/module/main.c", nil, nil,
		"Takes a reference on the module that implements the family or protocol, so it cannot be unloaded while sockets use it; "+
			"it fails if the module is being removed."+noopNote)
	fnModuleGet = regInline("__module_get", "kernel/module/main.c", nil, nil,
		"Takes a module reference that cannot fail (the caller already holds one)."+noopNote)
	fnModulePut = regInline("module_put", "kernel/module/main.c", nil, nil,
		"Drops a module reference."+noopNote)
	fnInetBindBucketCreate = reg("inet_bind_bucket_create", hashC, InetBindBucketCreate, []string{"port", "bhash"},
		"Makes the bind bucket for a port the first time anybody uses it, from tcp_bind_bucket, at the head of its bhash chain.")
	fnInetBindBucketDestroy = reg("inet_bind_bucket_destroy", hashC, inetBindBucketDestroy, []string{"tb"},
		"Frees a port's bind bucket once nothing is bound to the port any more.")
	fnInetBind2BucketCreate = reg("inet_bind2_bucket_create", hashC, InetBind2BucketCreate, []string{"port", "bhash2"},
		"Makes the bucket for a (port, address) pair, from tcp_bind2_bucket, in bhash2 (since 6.1). "+
			"It makes bind conflicts on one address cheap to check.")
	fnInetBhash2UpdateSaddr = reg("__inet_bhash2_update_saddr", hashC, InetBhash2UpdateSaddr, []string{"sk", "saddr"},
		"The socket's source address changes: connect() fills in the one its route chose, or a failed connect() "+
			"puts 0.0.0.0 back. A bound socket moves to the bhash2 bucket of its new (address, port), "+
			"so that bind() on another address of the same port sees it where it now is.")
	fnInetBind2BucketDestroy = reg("inet_bind2_bucket_destroy", hashC, inetBind2BucketDestroy, []string{"tb2"},
		"Frees a (port, address) bucket when its last owner goes.")
	fnInetBindHash = reg("inet_bind_hash", hashC, InetBindHash, []string{"sk", "tb", "port"},
		"Records that the sock owns the port: sets inet_num, the icsk bind pointers, and adds the sock to the bucket's owners.")
	fnInetPutPort = reg("inet_put_port", hashC, InetPutPort, sk,
		"Gives the port back: the sock leaves its bucket's owners and empty buckets are freed.")
	fnInetTwskHashdance = reg("inet_twsk_hashdance_schedule", "net/ipv4/inet_timewait_sock.c", InetTwskHashdanceSchedule,
		[]string{"tw", "sk"},
		"The TIME_WAIT sock takes the full sock's place: it joins the port's bind bucket as an owner (the port "+
			"stays taken) and replaces the sock in its ehash chain, so late segments for the four-tuple find it.")
	fnInetTwskKill = reg("inet_twsk_kill", "net/ipv4/inet_timewait_sock.c", InetTwskKill, []string{"tw"},
		"TIME_WAIT is over: the tw leaves ehash and its bind bucket, empty buckets are freed and the port is free again.")
	fnInetHash = reg("__inet_hash", hashC, InetHash, []string{"sk", "lhash2"},
		"Puts a listening sock into lhash2, chosen by ipv4_portaddr_hash of its address and port; incoming SYNs look there. "+
			"2.6 had listening_hash[32], keyed by the port alone.")
	fnInetEhashNolisten = reg("inet_ehash_nolisten", hashC, InetEhashNolisten, []string{"sk", "ehash"},
		"Puts a connected sock into the established hash, keyed by inet_ehashfn of its 4-tuple.")
	fnInetUnhash = reg("inet_unhash", hashC, InetUnhash, sk,
		"Takes a sock out of ehash or lhash2, so no packet can find it any more.")
}
