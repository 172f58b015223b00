package httpserver

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := LoopbackOnly(ok)
	for host, want := range map[string]int{
		"127.0.0.1:17071": 204, "127.0.0.1": 204, "127.1.2.3:80": 204, "localhost:17071": 204, "LOCALHOST": 204,
		"[::1]:17071": 204, "[::1]": 204,
		"evil.example": 403, "evil.example:17071": 403, "localhost.evil.example": 403, "10.0.0.1:17071": 403,
		"0.0.0.0:17071": 403, "[::]:17071": 403, "": 403, "127.0.0.1.nip.io": 403,
	} {
		req := httptest.NewRequest("GET", "/durabletask/instances", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %q: %d, want %d", host, rec.Code, want)
		}
		if want == 403 && !strings.Contains(rec.Body.String(), "not a loopback name") {
			t.Errorf("Host %q: body %q does not name the rule", host, rec.Body)
		}
	}
}

func TestRefuseCrossSite(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := RefuseCrossSite(ok)
	for _, tc := range []struct {
		name, method, origin, fetchSite string
		want                            int
	}{
		{"tool POST (no browser headers)", "POST", "", "", 204},
		{"same-origin POST", "POST", "http://127.0.0.1:17071", "same-origin", 204},
		{"user typed the URL", "POST", "", "none", 204},
		{"cross-site POST", "POST", "https://evil.example", "cross-site", 403},
		{"same-site POST from another port", "POST", "http://127.0.0.1:3000", "same-site", 403},
		{"cross-site POST, old browser (Origin only)", "POST", "https://evil.example", "", 403},
		{"cross-site DELETE", "DELETE", "https://evil.example", "cross-site", 403},
		{"same Origin as Host, old browser", "POST", "http://127.0.0.1:17071", "", 204},
		{"cross-site GET (the browser keeps the answer from the page)", "GET", "https://evil.example", "cross-site", 204},
	} {
		req := httptest.NewRequest(tc.method, "http://127.0.0.1:17071/durabletask/instances/x/terminate", strings.NewReader("x"))
		req.Header.Set("Content-Type", "text/plain")
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		if tc.fetchSite != "" {
			req.Header.Set("Sec-Fetch-Site", tc.fetchSite)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
		}
		if tc.want == 403 && !strings.Contains(rec.Body.String(), "Cross-site request refused") {
			t.Errorf("%s: body %q does not name the rule", tc.name, rec.Body)
		}
	}
}

func TestTimeoutsFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fn   time.Duration
		want Timeouts
	}{
		{5 * time.Minute, Timeouts{ReadHeader: 30 * time.Second, Idle: 2 * time.Minute, Request: 6 * time.Minute}},
		{-1, Timeouts{ReadHeader: 30 * time.Second, Idle: 2 * time.Minute}},
		{0, Timeouts{ReadHeader: 30 * time.Second, Idle: 2 * time.Minute}},
	} {
		if got := TimeoutsFor(tc.fn); got != tc.want {
			t.Errorf("TimeoutsFor(%v) = %+v, want %+v", tc.fn, got, tc.want)
		}
		s := NewHTTPServer(nil, tc.want, nil)
		if s.ReadHeaderTimeout != tc.want.ReadHeader || s.IdleTimeout != tc.want.Idle || s.ReadTimeout != tc.want.Request || s.WriteTimeout != tc.want.Request {
			t.Errorf("server timeouts %v %v %v %v from %+v", s.ReadHeaderTimeout, s.IdleTimeout, s.ReadTimeout, s.WriteTimeout, tc.want)
		}
	}
}

// TestServerClosesStalledConnections: a connection that sends a partial
// request head, and a keep-alive connection left idle, are both closed by
// the server (with short timeouts here; the defaults are TimeoutsFor's).
func TestServerClosesStalledConnections(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), Timeouts{ReadHeader: 100 * time.Millisecond, Idle: 100 * time.Millisecond}, nil)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	for name, send := range map[string]string{
		"partial head":    "GET / HTTP/1.1\r\nHost: x\r\n",
		"idle keep-alive": "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
		// The server must close the connection; the deadline only keeps a
		// broken server from hanging the test.
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		_, err = io.ReadAll(r)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: the server kept the connection open", name)
		}
		c.Close()
	}
}
