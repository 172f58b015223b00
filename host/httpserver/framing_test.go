package httpserver

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// framingServer serves a handler that echoes the method, path and body
// length of each request, on GuardFraming.
func framingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.URL.Path+" "+strconv.Quote(string(b)))
		w.WriteHeader(http.StatusNoContent)
	})
	s := NewHTTPServer(h, Timeouts{ReadHeader: 10 * time.Second, Idle: 10 * time.Second}, nil)
	go func() { _ = s.Serve(GuardFraming(ln)) }()
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

// exchange writes raw to a new connection and reads every response until
// the server closes it (or stops answering).
func exchange(t *testing.T, addr, raw string) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	// Closing our side after the last pipelined request makes the server
	// end the connection once it answered everything; the deadline only
	// keeps a broken server from hanging the test.
	_ = c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	var out []*http.Response
	for {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return out
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Header.Set("X-Body", string(b))
		out = append(out, resp)
	}
}

func TestGuardFraming(t *testing.T) {
	t.Parallel()
	addr := framingServer(t)
	get := "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, tc := range []struct {
		name string
		raw  string
		want []string // X-Seen of each answer, or "400" for a refusal
	}{
		{"Content-Length and Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + get, []string{"400"}},
		{"Transfer-Encoding first", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\ncontent-length: 44\r\n\r\n0\r\n\r\n" + get, []string{"400"}},
		{"a smuggled request after a refused one is not served", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 37\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", []string{"400"}},
		{"chunked body, then a pipelined request", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: v\r\n\r\n" + get, []string{`POST /a "abcde"`, `GET /next ""`}},
		{"Content-Length body, then a pipelined request", "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello\r\n\r\n!!" + get, []string{`POST /b "hello\r\n\r\n!!"`, `GET /next ""`}},
		{"bodyless requests", get + get + get, []string{`GET /next ""`, `GET /next ""`, `GET /next ""`}},
		{"HTTP/1.0 with both: Go ignores Transfer-Encoding", "POST /c HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nok", []string{`POST /c "ok"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := exchange(t, addr, tc.raw)
			if len(got) != len(tc.want) {
				t.Fatalf("%d answers, want %d", len(got), len(tc.want))
			}
			for i, resp := range got {
				if tc.want[i] == "400" {
					if resp.StatusCode != 400 || !strings.Contains(resp.Header.Get("X-Body"), "both Content-Length and Transfer-Encoding") || !resp.Close {
						t.Errorf("answer %d: %d %q close=%v, want 400 naming the rule and closing", i, resp.StatusCode, resp.Header.Get("X-Body"), resp.Close)
					}
					continue
				}
				if resp.StatusCode != 204 || resp.Header.Get("X-Seen") != tc.want[i] {
					t.Errorf("answer %d: %d %q, want 204 %q", i, resp.StatusCode, resp.Header.Get("X-Seen"), tc.want[i])
				}
			}
		})
	}
}

// TestGuardFramingByteByByte feeds requests one byte per read, so that
// every head, chunk line and body is split across reads.
func TestGuardFramingByteByByte(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw  string
		want []string // method, path and body of each request Go would read
	}{
		{"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nPUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokGET /c HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"POST /a abc", "PUT /b ok", "GET /c "}},
		{"PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 40000\r\n\r\n" + strings.Repeat("b", 40000) + "GET /c HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"PUT /big " + strings.Repeat("b", 40000), "GET /c "}},
		{"GET /c HTTP/1.1\r\nHost: x\r\n\r\nPOST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"GET /c ", "POST " + framingErrorPath + " "}},
	} {
		client, server := net.Pipe()
		go func() {
			for i := range len(tc.raw) {
				if _, err := client.Write([]byte{tc.raw[i]}); err != nil {
					return
				}
			}
			client.Close()
		}()
		r := bufio.NewReader(&framingConn{Conn: server})
		var got []string
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				break
			}
			b, _ := io.ReadAll(req.Body)
			got = append(got, req.Method+" "+req.URL.Path+" "+string(b))
		}
		server.Close()
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("requests %.200q, want %.200q", got, tc.want)
		}
	}
}
