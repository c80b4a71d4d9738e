package live

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack/netdev"
)

// qdiscSupport is what this machine's kernel offers for impairing the
// TUN link on the host's side, found by trying it in a scratch namespace.
type qdiscSupport struct {
	netem bool // sch_netem
	tbf   bool // sch_tbf
	// ifb: the host's ingress can be redirected through an ifb device
	// (ifb, the ingress qdisc, cls_u32 and act_mirred), so that a qdisc
	// acts on what the stack sends too.
	ifb bool
	// missing says what was not there, for the log.
	missing []string
}

// probeQdiscs tries netem, tbf and an ifb redirect on lo of a namespace
// made for the purpose and removed afterwards.
func probeQdiscs(t *testing.T) qdiscSupport {
	t.Helper()
	var sup qdiscSupport
	if _, err := exec.LookPath("tc"); err != nil {
		sup.missing = append(sup.missing, "tc (Debian: iproute2)")
		return sup
	}
	ns := fmt.Sprintf("stkprobe%d", os.Getpid()%100000)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		sup.missing = append(sup.missing, fmt.Sprintf("a namespace to probe in (%v: %s)", err, strings.TrimSpace(string(out))))
		return sup
	}
	defer func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("remove probe namespace %s: %v: %s", ns, err, out)
		}
	}()
	ok := func(args ...string) bool { return exec.Command(args[0], args[1:]...).Run() == nil }
	ok("ip", "-n", ns, "link", "set", "lo", "up")
	if sup.netem = ok("tc", "-n", ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"); sup.netem {
		ok("tc", "-n", ns, "qdisc", "del", "dev", "lo", "root")
	} else {
		sup.missing = append(sup.missing, "sch_netem")
	}
	if sup.tbf = ok("tc", "-n", ns, "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "10mbit", "burst", "4000", "limit", "131072"); sup.tbf {
		ok("tc", "-n", ns, "qdisc", "del", "dev", "lo", "root")
	} else {
		sup.missing = append(sup.missing, "sch_tbf")
	}
	sup.ifb = ok("ip", "-n", ns, "link", "add", "ifbprobe", "type", "ifb") &&
		ok("tc", "-n", ns, "qdisc", "add", "dev", "lo", "handle", "ffff:", "ingress") &&
		ok("tc", "-n", ns, "filter", "add", "dev", "lo", "parent", "ffff:", "protocol", "ip", "u32", "match", "u32", "0", "0",
			"action", "mirred", "egress", "redirect", "dev", "ifbprobe")
	if !sup.ifb {
		sup.missing = append(sup.missing, "an ifb redirect of ingress (ifb, sch_ingress, cls_u32, act_mirred)")
	}
	return sup
}

// linkPlan says who impairs which direction of the TUN link: tc
// commands to run in the namespace (the host's side) and what is left for
// stackscope's TUN impairment stage (the stack's side).
type linkPlan struct {
	tc   [][]string
	shim netdev.TunImpairments
	// mechanism names what does the work, in words for the log.
	mechanism string
}

// planLink puts the impairments im (each way) where this machine can do
// them: netem and tbf on the host's side where the kernel has them (on
// the device's egress for host->stack, and on an ifb device that the
// device's ingress is redirected to for stack->host), the TUN stage for
// the rest. Rate limits go to tbf rather than netem's rate, which has
// no queue limit in bytes.
func planLink(sup qdiscSupport, dev string, im netdev.Impairments, seed uint64) linkPlan {
	p := linkPlan{shim: netdev.TunImpairments{Seed: seed, Rx: im, Tx: im}}
	rate := netdev.Impairments{Rate: im.Rate, QueueBytes: im.QueueBytes}
	rest := im
	rest.Rate, rest.QueueBytes = 0, 0
	var host, stage []string
	// dir sets up one direction on device d (egress) and returns what
	// the stage still has to do for it.
	dir := func(name, d string, canHost bool, redirect func()) netdev.Impairments {
		left := im
		var did []string
		var cmds [][]string
		root := "root handle 1:"
		if canHost && sup.netem && !rest.IsZero() {
			cmds = append(cmds, append(strings.Fields("qdisc add dev "+d+" "+root+" netem"), netemArgs(rest)...))
			did = append(did, "netem "+strings.Join(netemArgs(rest), " "))
			root = "parent 1:1 handle 10:"
			left.Loss, left.Duplicate, left.Corrupt, left.Reorder, left.ReorderGap, left.Delay, left.Jitter = 0, 0, 0, 0, 0, 0, 0
		}
		if canHost && sup.tbf && rate.Rate > 0 {
			q := rate.QueueBytes
			if q == 0 {
				q = 150000
			}
			cmds = append(cmds, strings.Fields(fmt.Sprintf("qdisc add dev %s %s tbf rate %dbit burst 4000 limit %d", d, root, rate.Rate, q)))
			did = append(did, fmt.Sprintf("tbf rate %dbit limit %d", rate.Rate, q))
			left.Rate, left.QueueBytes = 0, 0
		}
		if len(cmds) > 0 {
			if redirect != nil {
				redirect()
			}
			p.tc = append(p.tc, cmds...)
			host = append(host, fmt.Sprintf("%s: %s on %s", name, strings.Join(did, " + "), d))
		}
		if !left.IsZero() {
			stage = append(stage, fmt.Sprintf("%s: %s", name, left))
		}
		return left
	}
	p.shim.Rx = dir("host->stack", dev, true, nil)
	p.shim.Tx = dir("stack->host", "ifb0", sup.ifb, func() {
		p.tc = append(p.tc,
			[]string{"ip", "link", "add", "ifb0", "type", "ifb"},
			[]string{"ip", "link", "set", "ifb0", "up"},
			strings.Fields("qdisc add dev "+dev+" handle ffff: ingress"),
			strings.Fields("filter add dev "+dev+" parent ffff: protocol ip u32 match u32 0 0 action mirred egress redirect dev ifb0"))
	})
	var m []string
	if len(host) > 0 {
		m = append(m, "the host's qdiscs ("+strings.Join(host, "; ")+")")
	}
	if len(stage) > 0 {
		why := ""
		if len(sup.missing) > 0 {
			why = ", because this kernel has no " + strings.Join(sup.missing, ", no ")
		}
		m = append(m, "stackscope's TUN impairment stage"+why+" ("+strings.Join(stage, "; ")+")")
	}
	if len(m) == 0 {
		m = append(m, "nothing (a perfect link)")
	}
	p.mechanism = strings.Join(m, "; and ")
	return p
}

// netemArgs are netem's words for the impairments other than the rate.
// netem's reorder sends the chosen share at once and delays the rest,
// where the stage holds the chosen share back by a gap: both let later
// frames overtake earlier ones.
func netemArgs(im netdev.Impairments) []string {
	pct := func(p float64) string { return strconv.FormatFloat(p*100, 'f', -1, 64) + "%" }
	var a []string
	if im.Delay > 0 || im.Jitter > 0 {
		a = append(a, "delay", fmt.Sprintf("%dus", im.Delay/1000))
		if im.Jitter > 0 {
			a = append(a, fmt.Sprintf("%dus", im.Jitter/1000))
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", im.Loss}, {"duplicate", im.Duplicate}, {"corrupt", im.Corrupt}, {"reorder", im.Reorder}} {
		if p.v > 0 {
			a = append(a, p.name, pct(p.v))
		}
	}
	return a
}

// applyPlan runs the plan's commands in namespace ns.
func applyPlan(ns string, p linkPlan) error {
	for _, c := range p.tc {
		var cmd *exec.Cmd
		if c[0] == "ip" {
			cmd = exec.Command("ip", append([]string{"-n", ns}, c[1:]...)...)
		} else {
			cmd = exec.Command("tc", append([]string{"-n", ns}, c...)...)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

func TestPlanLinkWithoutNetem(t *testing.T) {
	im := netdev.Impairments{Delay: 25e6, Loss: 0.05, Rate: 10e6, QueueBytes: 131072}
	p := planLink(qdiscSupport{tbf: true, ifb: true, missing: []string{"sch_netem"}}, "stk0", im, 3)
	want := netdev.Impairments{Delay: 25e6, Loss: 0.05}
	if p.shim.Rx != want || p.shim.Tx != want || p.shim.Seed != 3 {
		t.Errorf("stage %+v, want %+v both ways", p.shim, want)
	}
	got := fmt.Sprint(p.tc)
	for _, w := range []string{"[qdisc add dev stk0 root handle 1: tbf rate 10000000bit burst 4000 limit 131072]",
		"[filter add dev stk0 parent ffff: protocol ip u32 match u32 0 0 action mirred egress redirect dev ifb0]",
		"[qdisc add dev ifb0 root handle 1: tbf rate 10000000bit burst 4000 limit 131072]"} {
		if !strings.Contains(got, w) {
			t.Errorf("commands %s lack %s", got, w)
		}
	}
	if !strings.Contains(p.mechanism, "stackscope's TUN impairment stage, because this kernel has no sch_netem") {
		t.Errorf("mechanism %q", p.mechanism)
	}
}

func TestPlanLinkWithNetem(t *testing.T) {
	im := netdev.Impairments{Delay: 20e6, Reorder: 0.1, Rate: 10e6}
	p := planLink(qdiscSupport{netem: true, tbf: true, ifb: true}, "stk0", im, 1)
	if !p.shim.Rx.IsZero() || !p.shim.Tx.IsZero() {
		t.Errorf("the stage has work with netem there: %+v", p.shim)
	}
	got := fmt.Sprint(p.tc)
	for _, w := range []string{"[qdisc add dev stk0 root handle 1: netem delay 20000us reorder 10%]",
		"[qdisc add dev stk0 parent 1:1 handle 10: tbf rate 10000000bit burst 4000 limit 150000]",
		"[qdisc add dev ifb0 root handle 1: netem delay 20000us reorder 10%]"} {
		if !strings.Contains(got, w) {
			t.Errorf("commands %s lack %s", got, w)
		}
	}
	// Without the ifb redirect, what the stack sends is the stage's.
	p = planLink(qdiscSupport{netem: true, tbf: true}, "stk0", im, 1)
	if !p.shim.Rx.IsZero() || p.shim.Tx != im || strings.Contains(fmt.Sprint(p.tc), "ifb0") {
		t.Errorf("without ifb: stage %+v, commands %v", p.shim, p.tc)
	}
}
