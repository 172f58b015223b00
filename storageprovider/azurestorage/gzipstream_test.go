package azurestorage

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"runtime"
	"strings"
	"testing"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// gzipBefore is the blob body as uploads made it before gzipStream: data
// written in one piece (upload) or in 64 KiB copies (uploadString) to a
// gzip writer at BestSpeed, the output gathered whole.
func gzipBefore(data string, chunked bool) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	for rest := data; len(rest) > 0; {
		k := len(rest)
		if chunked {
			k = min(k, 64<<10)
		}
		zw.Write([]byte(rest[:k]))
		rest = rest[k:]
	}
	zw.Close()
	return b.Bytes()
}

// gzipStream gives the bytes uploads stored before, however it is read,
// and again after each seek to the start.
func TestGzipStreamBytes(t *testing.T) {
	for name, data := range map[string]string{
		"empty":         "",
		"small":         `"hello"`,
		"one chunk":     randomText(gzipChunk),
		"random 3 MB":   randomText(3 << 20),
		"repetitive":    strings.Repeat(`{"k":"välue 😀"},`, 200_000),
		"chunk plus 1":  randomText(gzipChunk + 1),
		"below a chunk": randomText(gzipChunk - 1),
	} {
		t.Run(name, func(t *testing.T) {
			want := gzipBefore(data, false)
			if chunked := gzipBefore(data, true); !bytes.Equal(chunked, want) {
				t.Fatal("the two old upload paths differ")
			}
			s, err := newGzipStream(bodyPiece{text: data})
			if err != nil {
				t.Fatal(err)
			}
			// What an upload does: position, length, start, then read.
			if pos, err := s.Seek(0, io.SeekCurrent); pos != 0 || err != nil {
				t.Fatalf("Seek(current) = %d, %v", pos, err)
			}
			if end, err := s.Seek(0, io.SeekEnd); end != int64(len(want)) || err != nil {
				t.Fatalf("Seek(end) = %d, %v; want %d", end, err, len(want))
			}
			if n, err := s.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Fatalf("Read at the end = %d, %v", n, err)
			}
			for _, bufSize := range []int{1 << 20, 1000, 7} {
				if pos, err := s.Seek(0, io.SeekStart); pos != 0 || err != nil {
					t.Fatalf("Seek(start) = %d, %v", pos, err)
				}
				got, err := readSmall(s, bufSize)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("read %d bytes (%v); want the old %d", len(got), err, len(want))
				}
			}
			// A retry that rewinds part-way through gets the whole body.
			s.Seek(0, io.SeekStart)
			s.Read(make([]byte, 5))
			s.Seek(0, io.SeekStart)
			if got, err := io.ReadAll(s); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("after a rewind part-way: %d bytes, %v", len(got), err)
			}
			if _, err := s.Seek(3, io.SeekStart); err == nil && len(want) != 3 {
				t.Fatal("a seek into the middle was accepted")
			}
		})
	}
}

// readSmall reads r to the end n bytes at a time.
func readSmall(r io.Reader, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// An upload sends one Put Blob and holds neither a copy of the data nor
// the compressed blob (three quarters of this data's size): what it
// allocates is mostly the gzip writer's fixed state, about 1.2 MB.
func TestUploadOneRequestNoCopy(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), nil)
	ctx := context.Background()
	if err := h.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	data := randomText(8 << 20)
	for _, asString := range []bool{true, false} {
		name := "stream/bytes.json.gz"
		if asString {
			name = "stream/string.json.gz"
		}
		raw := []byte(data)
		before := h.RequestCounter().Snapshot()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		var err error
		if asString {
			err = h.blobs.uploadString(ctx, name, data)
		} else {
			err = h.blobs.upload(ctx, name, raw)
		}
		runtime.ReadMemStats(&m1)
		if err != nil {
			t.Fatal(err)
		}
		d := h.RequestCounter().Snapshot().Sub(before)
		if d.Total != 1 {
			t.Fatalf("%s: %d requests (%s); want one Put Blob", name, d.Total, d)
		}
		if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > uint64(len(data))/4 {
			t.Fatalf("%s: uploading %d bytes allocated %d", name, len(data), alloc)
		}
		got, err := h.blobs.downloadString(ctx, name)
		if err != nil || got != data {
			t.Fatalf("%s: read back %d bytes, %v", name, len(got), err)
		}
	}
}

// largeMessage is a start message whose input (and, with result, an
// event result) is n bytes of text with characters to escape in it.
func largeMessage(n int, result bool) *sp.TaskMessage {
	text := randomText(n)
	in := `"` + text[:n/3] + "<é\u2028\xff\"\n" + text[n/3:] + `"`
	ev := sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}, "Echo", "", in)
	if result {
		ev.Result = in[:n/2]
	}
	return &sp.TaskMessage{Event: ev, Target: sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}, SequenceNumber: 4}
}

// A message body in pieces has encodeMessage's length, and its gzip
// stream gives the bytes upload(encodeMessage) stored.
func TestMessageBodyPieces(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *sp.TaskMessage
	}{
		{"small", &sp.TaskMessage{Event: sp.NewEventRaisedEvent(sp.Now(), "ev", `"x"`), SequenceNumber: 1}},
		{"large input", largeMessage(300_000, false)},
		{"large input and result", largeMessage(300_000, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			whole, err := encodeMessage(tc.m, "aid", sp.OrchestrationInstance{InstanceID: "from"})
			if err != nil {
				t.Fatal(err)
			}
			body, err := encodeMessageBody(tc.m, "aid", sp.OrchestrationInstance{InstanceID: "from"})
			if err != nil {
				t.Fatal(err)
			}
			if body.n != len(whole) {
				t.Fatalf("length %d; encodeMessage gives %d", body.n, len(whole))
			}
			s, err := newGzipStream(body.pieces...)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(s); err != nil || !bytes.Equal(got, gzipBefore(string(whole), false)) {
				t.Fatalf("gzip of the pieces differs from the whole body's (%d bytes, %v)", len(got), err)
			}
		})
	}
}

// uploadMessage sends one Put Blob, stores the message upload stores and
// never holds the body: it allocates a small part of it.
func TestUploadMessageNoCopy(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), nil)
	ctx := context.Background()
	if err := h.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	m := largeMessage(8<<20, false)
	whole, err := encodeMessage(m, "aid", sp.OrchestrationInstance{})
	if err != nil {
		t.Fatal(err)
	}
	before := h.RequestCounter().Snapshot()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	body, err := encodeMessageBody(m, "aid", sp.OrchestrationInstance{})
	if err == nil {
		err = h.blobs.uploadMessage(ctx, "stream/message.json.gz", body)
	}
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatal(err)
	}
	if d := h.RequestCounter().Snapshot().Sub(before); d.Total != 1 {
		t.Fatalf("%d requests (%s); want one Put Blob", d.Total, d)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > uint64(len(whole))/4 {
		t.Fatalf("encoding and uploading a %d-byte body allocated %d", len(whole), alloc)
	}
	got, err := h.blobs.download(ctx, "stream/message.json.gz")
	if err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("read back %d bytes of %d, %v", len(got), len(whole), err)
	}
}
