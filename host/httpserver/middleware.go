package httpserver

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// limitBody answers 413 for bodies above limit. A declared Content-Length
// above the limit is refused before the handler runs. A body of unknown
// length is cut at the limit: reads past it fail with *http.MaxBytesError,
// and whatever status the handler then writes is replaced by the 413, so
// the client always learns the real reason.
func limitBody(limit int64, next http.Handler) http.Handler {
	if limit <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			w.Header().Set("Connection", "close")
			writeJSONError(w, http.StatusRequestEntityTooLarge, tooLarge(limit))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		lw := &limitWriter{ResponseWriter: w, limit: limit}
		r.Body = &limitReader{rc: r.Body, remaining: limit, lw: lw}
		next.ServeHTTP(lw, r)
	})
}

func tooLarge(limit int64) string {
	return fmt.Sprintf("Request body too large: the limit is %d bytes.", limit)
}

type limitReader struct {
	rc        io.ReadCloser
	remaining int64
	lw        *limitWriter
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.lw.isExceeded() {
		return 0, &http.MaxBytesError{Limit: l.lw.limit}
	}
	// Read one byte more than allowed to detect an over-long body.
	if int64(len(p)) > l.remaining+1 {
		p = p[:l.remaining+1]
	}
	n, err := l.rc.Read(p)
	if int64(n) > l.remaining {
		l.lw.markExceeded()
		n = int(l.remaining)
		l.remaining = 0
		return n, &http.MaxBytesError{Limit: l.lw.limit}
	}
	l.remaining -= int64(n)
	return n, err
}

func (l *limitReader) Close() error { return l.rc.Close() }

// limitWriter turns the handler's response into a 413 once the body limit
// was exceeded and nothing has been written yet.
type limitWriter struct {
	http.ResponseWriter
	limit int64

	mu       sync.Mutex
	exceeded bool
	wrote    bool
	replaced bool
}

func (l *limitWriter) markExceeded() {
	l.mu.Lock()
	l.exceeded = true
	l.mu.Unlock()
}

func (l *limitWriter) isExceeded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exceeded
}

// begin decides, on the first write, whether the 413 replaces the
// handler's response; it reports whether handler output must be dropped.
func (l *limitWriter) begin() bool {
	l.mu.Lock()
	first := !l.wrote
	l.wrote = true
	if first && l.exceeded {
		l.replaced = true
	}
	replaced := l.replaced
	l.mu.Unlock()
	if first && replaced {
		l.ResponseWriter.Header().Set("Connection", "close")
		writeJSONError(l.ResponseWriter, http.StatusRequestEntityTooLarge, tooLarge(l.limit))
	}
	return replaced
}

func (l *limitWriter) WriteHeader(code int) {
	if l.begin() {
		return
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *limitWriter) Write(b []byte) (int, error) {
	if l.begin() {
		return len(b), nil
	}
	return l.ResponseWriter.Write(b)
}

// WriteString is Write for a string (see StatusRecorder.WriteString):
// dropped after a 413 as Write's bytes are, passed on otherwise.
func (l *limitWriter) WriteString(s string) (int, error) {
	if l.begin() {
		return len(s), nil
	}
	return writeString(l.ResponseWriter, s)
}

// Flush supports streaming handlers.
func (l *limitWriter) Flush() {
	if l.begin() {
		return
	}
	if f, ok := l.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (l *limitWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }

// cors applies Host.CORS: allowed origins get Access-Control-Allow-Origin,
// and preflight requests from them are answered here (204) before routing,
// so functions restricted to POST still pass their OPTIONS preflight.
func cors(origins []string, credentials bool, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	anyOrigin := false
	allowed := map[string]bool{}
	for _, o := range origins {
		if o == "*" {
			anyOrigin = true
		}
		allowed[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !(anyOrigin || allowed[strings.ToLower(origin)]) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		if anyOrigin && !credentials {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
		}
		if credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
			if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); reqHeaders != "" {
				h.Set("Access-Control-Allow-Headers", reqHeaders)
			}
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
