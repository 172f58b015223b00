package httpserver

import (
	"io"
	"sync"
)

// stringChunk is the piece size writeString copies a string in when the
// writer has no WriteString of its own.
const stringChunk = 32 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, stringChunk); return &b }}

// writeString writes s to w: through w's WriteString when it has one,
// otherwise a chunk at a time through a pooled buffer. io.WriteString
// would convert the whole string to a []byte instead, a copy the size
// of the body, which is what the wrappers' WriteString exists to avoid.
func writeString(w io.Writer, s string) (int, error) {
	if sw, ok := w.(io.StringWriter); ok {
		return sw.WriteString(s)
	}
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	written := 0
	for len(s) > 0 {
		k := copy(*bp, s)
		n, err := w.Write((*bp)[:k])
		written += n
		if err != nil {
			return written, err
		}
		if n < k {
			return written, io.ErrShortWrite
		}
		s = s[k:]
	}
	return written, nil
}
