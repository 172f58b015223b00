package httpserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/funchost/funchost/host/dfwire"
)

// plainWriter hides the recorder's WriteString, as a wrapper without one
// would.
type plainWriter struct{ rec *httptest.ResponseRecorder }

func (p plainWriter) Header() http.Header         { return p.rec.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.rec.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.rec.WriteHeader(code) }

// countingWriter counts the WriteString calls that reach it.
type countingWriter struct {
	*httptest.ResponseRecorder
	strings int
}

func (c *countingWriter) WriteString(s string) (int, error) {
	c.strings++
	return c.ResponseRecorder.WriteString(s)
}

// wrapped is what one run through a wrapper left behind.
type wrapped struct {
	code    int
	body    string
	header  http.Header
	n       int
	status  int  // StatusRecorder.Status, 0 for other wrappers
	wrote   bool // StatusRecorder.Wrote
	strings int  // WriteString calls that reached the wrapped writer
}

// runWrapper writes pieces through the wrapper wrap makes, with Write or
// with WriteString, over a writer with or without WriteString.
func runWrapper(t *testing.T, wrap func(http.ResponseWriter) http.ResponseWriter, code int, pieces []string, asString, plain bool) wrapped {
	t.Helper()
	cw := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
	var under http.ResponseWriter = cw
	if plain {
		under = plainWriter{cw.ResponseRecorder}
	}
	w := wrap(under)
	if code != 0 {
		w.WriteHeader(code)
	}
	total := 0
	for _, p := range pieces {
		var n int
		var err error
		if asString {
			sw, ok := w.(io.StringWriter)
			if !ok {
				t.Fatalf("%T has no WriteString", w)
			}
			n, err = sw.WriteString(p)
		} else {
			n, err = w.Write([]byte(p))
		}
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	out := wrapped{code: cw.Code, body: cw.Body.String(), header: cw.Header(), n: total, strings: cw.strings}
	if rec, ok := w.(*StatusRecorder); ok {
		out.status, out.wrote = rec.Status(), rec.Wrote()
	}
	return out
}

func TestWrapperWriteString(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 5000) // 80 kB: more than one chunk
	wrappers := []struct {
		name string
		wrap func(http.ResponseWriter) http.ResponseWriter
		// passes: the body reaches the wrapped writer (not replaced by a 413).
		passes bool
	}{
		{"recorder", func(w http.ResponseWriter) http.ResponseWriter { return NewStatusRecorder(w) }, true},
		{"limit", func(w http.ResponseWriter) http.ResponseWriter { return &limitWriter{ResponseWriter: w, limit: 10} }, true},
		{"limit exceeded", func(w http.ResponseWriter) http.ResponseWriter {
			lw := &limitWriter{ResponseWriter: w, limit: 10}
			lw.markExceeded()
			return lw
		}, false},
	}
	cases := []struct {
		name   string
		code   int
		pieces []string
	}{
		{"no header", 0, []string{`{"a":`, `1}`}},
		{"header first", http.StatusAccepted, []string{`{"b":2}`}},
		{"server error", http.StatusInternalServerError, []string{"oops"}},
		{"large", http.StatusOK, []string{`"`, big, `"`}},
		{"empty piece", 0, []string{"", "x"}},
	}
	for _, wr := range wrappers {
		for _, c := range cases {
			for _, plain := range []bool{false, true} {
				name := wr.name + "/" + c.name
				if plain {
					name += "/plain"
				}
				t.Run(name, func(t *testing.T) {
					byWrite := runWrapper(t, wr.wrap, c.code, c.pieces, false, plain)
					byString := runWrapper(t, wr.wrap, c.code, c.pieces, true, plain)
					if byString.code != byWrite.code || byString.body != byWrite.body || byString.n != byWrite.n ||
						byString.status != byWrite.status || byString.wrote != byWrite.wrote {
						t.Fatalf("WriteString: code %d, %d bytes, n %d, status %d, wrote %v; Write: code %d, %d bytes, n %d, status %d, wrote %v",
							byString.code, len(byString.body), byString.n, byString.status, byString.wrote,
							byWrite.code, len(byWrite.body), byWrite.n, byWrite.status, byWrite.wrote)
					}
					if got, want := byString.header.Get("Connection"), byWrite.header.Get("Connection"); got != want {
						t.Fatalf("Connection header %q by WriteString, %q by Write", got, want)
					}
					if want := len(strings.Join(c.pieces, "")); byString.n != want {
						t.Fatalf("n = %d, want %d (the bytes the handler wrote, dropped or not)", byString.n, want)
					}
					if wr.passes != strings.Contains(byString.body, strings.Join(c.pieces, "")) {
						t.Fatalf("body %.80q: passes = %v", byString.body, wr.passes)
					}
					if !wr.passes && byString.code != http.StatusRequestEntityTooLarge {
						t.Fatalf("code %d after the limit, want 413", byString.code)
					}
					// Over a writer with WriteString, every non-dropped
					// string goes through it rather than through Write.
					wantStrings := 0
					if wr.passes && !plain {
						wantStrings = len(c.pieces)
					}
					if byString.strings != wantStrings {
						t.Fatalf("%d WriteString calls reached the writer, want %d", byString.strings, wantStrings)
					}
				})
			}
		}
	}
}

// TestChainWriteStringNoCopy serves a large string body through the
// host's real chain (CORS, body limit, a mount behind the recoverer) over
// a connection and checks the whole exchange allocates far less than the
// body: no wrapper turns the string into a []byte of its size.
func TestChainWriteStringNoCopy(t *testing.T) {
	const size = 16 << 20
	payload := `"` + strings.Repeat("x", size) + `"`
	status := &dfwire.StatusText{Name: "Echo", InstanceID: "abc", RuntimeStatus: "Completed", Input: payload, Output: payload}
	handlers := []struct {
		name string
		h    http.HandlerFunc
		size int
	}{
		{"io.WriteString", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, payload) }, len(payload)},
		{"WriteStatusText", func(w http.ResponseWriter, _ *http.Request) {
			_ = dfwire.WriteStatusText(w, http.StatusOK, status)
		}, 2 * len(payload)},
	}
	for _, hc := range handlers {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(hc.name+"/"+method, func(t *testing.T) {
				srv, err := New(Options{
					Mounts:             []Mount{{Prefix: "/runtime/webhooks/durabletask", Handler: hc.h}},
					MaxRequestBodySize: 1 << 20, CORS: []string{"*"},
				})
				if err != nil {
					t.Fatal(err)
				}
				ts := httptest.NewServer(srv)
				defer ts.Close()
				var body io.Reader
				if method == http.MethodPost {
					body = strings.NewReader(`{}`) // a body puts the limit writer in the chain
				}
				fetch := func() int64 {
					req, _ := http.NewRequest(method, ts.URL+"/runtime/webhooks/durabletask/instances/abc", body)
					req.Header.Set("Origin", "http://example.com")
					resp, err := ts.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					n, err := io.Copy(io.Discard, resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					return n
				}
				fetch() // connection and pools warm
				if method == http.MethodPost {
					body = strings.NewReader(`{}`)
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				n := fetch()
				runtime.ReadMemStats(&after)
				if n < int64(hc.size) {
					t.Fatalf("got %d bytes, want at least %d", n, hc.size)
				}
				alloc := after.TotalAlloc - before.TotalAlloc
				t.Logf("%d bytes served, %d allocated", n, alloc)
				if alloc > size/8 {
					t.Fatalf("serving a %d-byte body allocated %d bytes: a payload-sized copy", n, alloc)
				}
			})
		}
	}
}
