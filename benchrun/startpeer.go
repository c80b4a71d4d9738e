package benchrun

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// peerStart is how long a peer may take to say ready.
const peerStart = 30 * time.Second

// startPeer starts a peer on its own link at an MTU and waits until the
// host reaches it.
func (b *bench) startPeer(ctx context.Context, peer string, mtu int) (*peerProc, error) {
	l := links[peer]
	var p *peerProc
	var err error
	switch peer {
	case PeerStackscope, PeerRecorder, PeerRecorderNull, PeerDiskLoad:
		cfg := PeerConfig{Kind: KindStackscope, Tun: l.dev, MTU: mtu, Host: l.host, Addr: l.peer,
			Holders: holdPorts(b.o.Conns), Version: b.o.Version}
		switch peer {
		case PeerRecorder:
			cfg.Record = b.tracePath()
		case PeerRecorderNull:
			// The trace's every byte thrown away: CreateTrace writes a
			// device as a stream, and leaves its mode alone.
			cfg.Record = os.DevNull
		case PeerDiskLoad:
			// No recorder: the disk load is the bench's own writer,
			// running while this peer is measured (see measure).
		}
		p, err = startPeer(b.client, peer, b.o.Self, PeerArgs(cfg), peerStart)
	case PeerGvisor:
		args := []string{"-tun", l.dev, "-addr", l.peer.String(), "-mtu", strconv.Itoa(mtu),
			"-hold-port", strconv.Itoa(HoldPort), "-hold-ports", strconv.Itoa(holdPorts(b.o.Conns))}
		if p, err = startPeer(b.client, peer, b.gvisor, args, peerStart); err == nil {
			err = b.configureGvisorLink(mtu)
		}
	case PeerVeth:
		if err = b.setVethMTU(mtu); err == nil {
			cfg := PeerConfig{Kind: KindLinux, Addr: l.peer, Holders: holdPorts(b.o.Conns)}
			p, err = startPeer(b.server, peer, b.o.Self, PeerArgs(cfg), peerStart)
		}
	default:
		err = fmt.Errorf("unknown peer %q", peer)
	}
	if err == nil {
		err = waitReachable(ctx, b.client, l.peer.Addr())
	}
	if err != nil {
		if p != nil {
			_ = p.Stop()
		}
		return nil, err
	}
	return p, nil
}

// configureGvisorLink gives the host's end of gVisor's TUN device its
// address and MTU (stackscope's live mode does this for its own).
func (b *bench) configureGvisorLink(mtu int) error {
	h, err := b.client.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	l := links[PeerGvisor]
	return configureLink(h, l.dev, l.host, mtu)
}

// setVethMTU sets the MTU of both ends of the veth pair.
func (b *bench) setVethMTU(mtu int) error {
	for _, side := range []struct {
		ns   *nsThread
		name string
	}{{b.client, links[PeerVeth].dev}, {b.server, vethPeerName}} {
		h, err := side.ns.handle()
		if err != nil {
			return err
		}
		err = setMTU(h, side.name, mtu)
		h.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// PeerArgs is the command line that starts a peer of cfg's kind from the
// stackscope binary: `stackscope bench peer ...`.
func PeerArgs(cfg PeerConfig) []string {
	args := []string{"bench", "peer", "--kind", cfg.Kind, "--addr", cfg.Addr.String(), "--holders", strconv.Itoa(cfg.Holders)}
	if cfg.Kind == KindStackscope {
		args = append(args, "--tun", cfg.Tun, "--mtu", strconv.Itoa(cfg.MTU), "--host", cfg.Host.String())
		if cfg.Record != "" {
			args = append(args, "--record", cfg.Record)
		}
		if cfg.Version != "" {
			args = append(args, "--trace-version", cfg.Version)
		}
	}
	return args
}
