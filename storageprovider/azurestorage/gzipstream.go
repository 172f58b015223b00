package azurestorage

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

// gzipChunk is how much of the source gzipStream compresses at a time.
const gzipChunk = 64 << 10

// gzipStream is the gzip of a body (pieces) as the body of one Put Blob,
// compressed as it is read: the compressed blob is never held whole (it
// was, in slabs, until the request had sent it), and neither is the
// uncompressed body when it is given in pieces. Put Blob needs the length
// up front, so newGzipStream compresses the body once into nothing but a
// count; gzip output depends only on the input and the level, so the
// second pass gives the same bytes, and Read checks that it gives exactly
// that many. A retry seeks back to the start and compresses again.
type gzipStream struct {
	src    pieceReader
	size   int64 // the compressed length
	off    int64 // how much of the output has been read
	zw     *gzip.Writer
	out    bytes.Buffer // compressed, not yet read
	closed bool         // zw is closed: the rest of the output is in out
	atEnd  bool         // sought to the end: Read gives EOF until rewound
}

// bodyPiece is a part of a body: text as it is, or a string to escape
// as inside a JSON string (appendEscaped).
type bodyPiece struct {
	text   string
	escape bool
}

// pieceReader walks pieces a chunk at a time.
type pieceReader struct {
	pieces  []bodyPiece
	i, pos  int    // the current piece and the offset in it
	scratch []byte // an escaped chunk
}

// writeChunk writes the next chunk of at most gzipChunk source bytes to
// w and says whether there was one. Text is written in place (the
// writer only reads what it is given); an escaped chunk ends at the
// start of a rune.
func (r *pieceReader) writeChunk(w io.Writer) (bool, error) {
	for r.i < len(r.pieces) && r.pos == len(r.pieces[r.i].text) {
		r.i, r.pos = r.i+1, 0
	}
	if r.i == len(r.pieces) {
		return false, nil
	}
	p := r.pieces[r.i]
	rest := p.text[r.pos:]
	if !p.escape {
		k := min(gzipChunk, len(rest))
		r.pos += k
		_, err := w.Write(unsafe.Slice(unsafe.StringData(rest), k))
		return true, err
	}
	k := runeCut(rest, gzipChunk)
	r.pos += k
	r.scratch = appendEscaped(r.scratch[:0], rest[:k])
	_, err := w.Write(r.scratch)
	return true, err
}

// newGzipStream measures the gzip of the pieces' concatenation and
// returns the stream positioned at its start.
func newGzipStream(pieces ...bodyPiece) (*gzipStream, error) {
	var count countingWriter
	count.w = io.Discard
	zw, _ := gzip.NewWriterLevel(&count, gzip.BestSpeed)
	src := pieceReader{pieces: pieces}
	for {
		more, err := src.writeChunk(zw)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	s := &gzipStream{src: src, size: count.n, zw: zw}
	s.rewind()
	return s, nil
}

func (s *gzipStream) rewind() {
	s.src.i, s.src.pos = 0, 0
	s.off, s.closed, s.atEnd = 0, false, false
	s.out.Reset()
	s.zw.Reset(&s.out)
}

// Read gives the next compressed bytes, compressing a chunk of the
// source whenever none are waiting.
func (s *gzipStream) Read(p []byte) (int, error) {
	if s.atEnd {
		return 0, io.EOF
	}
	for s.out.Len() == 0 {
		if s.closed {
			if s.off != s.size {
				return 0, fmt.Errorf("azurestorage: gzip stream ended after %d bytes of %d", s.off, s.size)
			}
			return 0, io.EOF
		}
		if err := s.step(); err != nil {
			return 0, err
		}
	}
	n, _ := s.out.Read(p)
	s.off += int64(n)
	if s.off > s.size {
		return n, fmt.Errorf("azurestorage: gzip stream longer than its %d bytes", s.size)
	}
	return n, nil
}

// step compresses the next chunk, or closes the writer after the last.
func (s *gzipStream) step() error {
	if more, err := s.src.writeChunk(s.zw); more || err != nil {
		return err
	}
	s.closed = true
	return s.zw.Close()
}

// Seek supports what an upload asks for: the current position, the end
// (to learn the length) and the start (to send, or send again).
func (s *gzipStream) Seek(offset int64, whence int) (int64, error) {
	target := offset
	switch whence {
	case io.SeekCurrent:
		target += s.off
	case io.SeekEnd:
		target += s.size
	}
	switch {
	case target == s.off && !s.atEnd:
	case target == 0:
		s.rewind()
	case target == s.size:
		s.off, s.atEnd = s.size, true
	default:
		return 0, errors.New("azurestorage: gzip stream seeks only to its start or end")
	}
	return s.off, nil
}

// Close does nothing: the transport closes a request body it sent, and a
// retry sends it again.
func (s *gzipStream) Close() error { return nil }
