package live

import (
	"bufio"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stackscope/stackscope/stack"
)

// TestHTTPPageShowsTCPInfo: the HTTP service's page, fetched over the
// model's loopback by a process of the same kernel (no TUN needed), shows
// the serving socket's own tcp_info: established, with the options and
// MSS that loopback negotiates.
func TestHTTPPageShowsTCPInfo(t *testing.T) {
	k, err := stack.New(stack.Config{Seed: 1, Clock: stack.NewRealClock()})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	defer k.Stop()
	s := &Session{K: k}
	if err := s.startServices([]string{"http"}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, svc := range s.services {
			svc.stop()
		}
		s.wg.Wait()
	}()
	p, err := k.NewProcess("curl")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.DialTCP(netip.MustParseAddrPort("127.0.0.1:80"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: stackscope\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Read the response by its length, as curl does: the server waits for
	// the client to close (its background read is not interrupted by a
	// deadline on the model's net.Conn).
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page := resp.Status + "\n" + string(body)
	for _, want := range []string{
		"200 OK",
		"getsockopt(",
		"tcpi_state             ESTABLISHED",
		"tcpi_ca_state          TCP_CA_Open",
		"tcpi_options           TIMESTAMPS|SACK|WSCALE",
		"tcpi_snd_wscale/rcv    7 / 7",
		"tcpi_snd_mss/rcv_mss   32768 /", // half the client's window: tcp_bound_to_half_wnd
		"tcpi_advmss/pmtu       65483 / 65536",
		"tcpi_data_segs_out/in  0 / 1", // the request arrived; the page is being written
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
}
