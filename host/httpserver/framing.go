package httpserver

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Go's HTTP/1.1 server accepts a request that carries both Content-Length
// and Transfer-Encoding: chunked, drops Content-Length and reads the chunked
// body. RFC 9112 §6.3 allows that only if the connection is closed after
// the response; Go keeps it open. Behind a proxy that frames by
// Content-Length instead, the rest of the body becomes a second, smuggled
// request. Go removes both headers before a handler runs, so the conflict
// is only visible on the wire: GuardFraming follows each connection's
// request framing (heads, Content-Length bodies, chunked bodies) and
// replaces a conflicting request by one to framingErrorPath, which the
// server answers with 400 and "Connection: close"; nothing after it on
// that connection is read.

// framingErrorPath is where a refused request is sent instead.
const framingErrorPath = "/.funchost/refused-request-framing"

// maxTrackedHead bounds how much of a request head the guard buffers;
// past it the guard steps aside and Go's own limit answers 431.
const maxTrackedHead = 1 << 20

// GuardFraming wraps ln so that requests with both Content-Length and
// Transfer-Encoding get 400 and a closed connection (NewHTTPServer's
// handler answers them).
func GuardFraming(ln net.Listener) net.Listener { return framingListener{ln} }

type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

// framingState is where in the request stream a connection is.
type framingState int

const (
	inHead framingState = iota
	inBody              // remaining bytes of a Content-Length body
	inChunkSize
	inChunkData // remaining bytes of chunk data and its CRLF
	inTrailer
	passThrough // not tracked any more (upgrade, HTTP/2, oversized or malformed)
	refused     // the connection ends here
)

// framingConn tracks one connection's framing; only Go's server goroutine
// for the connection reads it. It keeps no buffer of its own between
// reads: it reads into the caller's buffer and holds only the bytes not
// yet handed on, so an idle keep-alive connection costs nothing here (a
// 16 KiB buffer per connection was 93 MB of a 5,000-connection burst).
type framingConn struct {
	net.Conn
	in, out   []byte
	state     framingState
	remaining int64
}

func (c *framingConn) Read(p []byte) (int, error) {
	if len(c.out) == 0 && len(c.in) == 0 && (c.state == passThrough || c.state == inBody || c.state == inChunkData) {
		return c.readBody(p)
	}
	for len(c.out) == 0 {
		if c.state == refused {
			return 0, io.EOF
		}
		if c.step() {
			continue
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, err := c.Conn.Read(p)
		c.in = append(c.in, p[:n]...)
		if n == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	if len(c.out) == 0 {
		c.out = nil
	}
	if len(c.in) == 0 {
		c.in = nil
	}
	return n, nil
}

// readBody reads body bytes straight into p (no copy through the
// buffers: bodies may be large), at most up to the end of the body.
func (c *framingConn) readBody(p []byte) (int, error) {
	if c.state != passThrough && int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.Conn.Read(p)
	if c.state != passThrough {
		if c.remaining -= int64(n); c.remaining == 0 {
			c.state = map[framingState]framingState{inBody: inHead, inChunkData: inChunkSize}[c.state]
		}
	}
	return n, err
}

// release moves n bytes of the input to the output.
func (c *framingConn) release(n int) {
	c.out = append(c.out, c.in[:n]...)
	c.in = c.in[n:]
}

// step advances over the buffered input; false means it needs more.
func (c *framingConn) step() bool {
	if len(c.in) == 0 {
		return false
	}
	switch c.state {
	case passThrough:
		c.release(len(c.in))
	case inBody, inChunkData:
		n := int(min(c.remaining, int64(len(c.in))))
		c.release(n)
		if c.remaining -= int64(n); c.remaining == 0 {
			c.state = map[framingState]framingState{inBody: inHead, inChunkData: inChunkSize}[c.state]
		}
	case inChunkSize, inTrailer:
		i := bytes.IndexByte(c.in, '\n')
		if i < 0 {
			if len(c.in) > maxTrackedHead {
				c.state = passThrough
				return true
			}
			return false
		}
		line := strings.TrimSpace(string(c.in[:i]))
		c.release(i + 1)
		c.nextAfterLine(line)
	case inHead:
		return c.head()
	}
	return true
}

// nextAfterLine moves on after a chunk-size or trailer line.
func (c *framingConn) nextAfterLine(line string) {
	if c.state == inTrailer {
		if line == "" {
			c.state = inHead
		}
		return
	}
	size, _, _ := strings.Cut(line, ";")
	n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
	switch {
	case err != nil || n < 0:
		c.state = passThrough // Go answers the malformed chunk itself
	case n == 0:
		c.state = inTrailer
	default:
		c.state, c.remaining = inChunkData, n+2
	}
}

// head handles a request head once it is complete.
func (c *framingConn) head() bool {
	// Go skips empty lines before a request line; so does the guard.
	for len(c.in) >= 2 && c.in[0] == '\r' && c.in[1] == '\n' {
		c.release(2)
	}
	end := bytes.Index(c.in, []byte("\r\n\r\n"))
	if end < 0 {
		if len(c.in) > maxTrackedHead {
			c.state = passThrough
			return true
		}
		return false
	}
	head := string(c.in[:end])
	lines := strings.Split(head, "\r\n")
	method, _, _ := strings.Cut(lines[0], " ")
	proto := lines[0][strings.LastIndexByte(lines[0], ' ')+1:]
	var contentLength, transferEncoding, upgrade bool
	length := int64(0)
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			contentLength = true
			length, _ = strconv.ParseInt(value, 10, 64)
		case "transfer-encoding":
			transferEncoding = true
		case "upgrade":
			upgrade = true
		}
	}
	http11 := proto == "HTTP/1.1"
	if contentLength && transferEncoding && http11 {
		c.in = nil
		c.out = append(c.out, "POST "+framingErrorPath+" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"...)
		c.state = refused
		return true
	}
	c.release(end + 4)
	switch {
	case method == "PRI" || method == "CONNECT" || upgrade || (proto != "HTTP/1.1" && proto != "HTTP/1.0"):
		c.state = passThrough
	case transferEncoding && http11:
		c.state = inChunkSize // Go takes only "chunked"; it refuses others and closes
	case length > 0:
		c.state, c.remaining = inBody, length
	}
	return true
}

// refuseFraming answers the requests GuardFraming sent to framingErrorPath.
func refuseFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == framingErrorPath {
			w.Header().Set("Connection", "close")
			writeJSONError(w, http.StatusBadRequest,
				"Bad request framing: the request has both Content-Length and Transfer-Encoding (RFC 9112 §6.3); send one of them.")
			return
		}
		next.ServeHTTP(w, r)
	})
}
