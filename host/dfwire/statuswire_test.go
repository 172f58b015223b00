package dfwire_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/funchost/funchost/host/dfwire"
)

// textStatus is the row as the host's status endpoints now build it:
// payloads through PayloadText, kept as strings.
func (r statusRow) textStatus() *dfwire.StatusText {
	return &dfwire.StatusText{Name: r.name, InstanceID: r.id, RuntimeStatus: r.status,
		Input: dfwire.PayloadText(r.input), CustomStatus: dfwire.PayloadText(r.custom), Output: dfwire.PayloadText(r.output),
		CreatedTime: r.created, LastUpdatedTime: r.updated, Version: r.version, HistoryEvents: r.history}
}

// plainWriter hides the writer's WriteString (only ResponseWriter's
// methods are promoted), as a wrapping ResponseWriter such as a status
// recorder does, so that payloads go through the writer's buffer.
type plainWriter struct{ http.ResponseWriter }

// Every way of writing a status object gives the recorded bytes: the old
// Status and the StatusText, marshalled or written to a response (with or
// without WriteString), with WriteJSON's headers.
func TestStatusWire(t *testing.T) {
	for _, tc := range statusWireCases() {
		t.Run(tc.name, func(t *testing.T) {
			want, ok := statusWireWant[tc.name]
			if !ok {
				t.Fatalf("no recorded status object for %q", tc.name)
			}
			checkStatusWire(t, tc.row, want)
		})
	}
}

func checkStatusWire(t *testing.T, row statusRow, want string) {
	t.Helper()
	if got, _ := row.oldStatus().MarshalJSON(); string(got) != want {
		t.Errorf("Status.MarshalJSON\n got %.300s\nwant %.300s", got, want)
	}
	if got, _ := row.textStatus().MarshalJSON(); string(got) != want {
		t.Errorf("StatusText.MarshalJSON\n got %.300s\nwant %.300s", got, want)
	}
	writers := []struct {
		name  string
		write func(http.ResponseWriter) error
	}{
		{"WriteStatusText", func(w http.ResponseWriter) error {
			return dfwire.WriteStatusText(w, http.StatusAccepted, row.textStatus())
		}},
		{"WriteStatus", func(w http.ResponseWriter) error { return dfwire.WriteStatus(w, http.StatusAccepted, row.oldStatus()) }},
	}
	for _, wr := range writers {
		for _, plain := range []bool{false, true} {
			rec := httptest.NewRecorder()
			var w http.ResponseWriter = rec
			if plain {
				w = plainWriter{rec}
			}
			if err := wr.write(w); err != nil {
				t.Fatalf("%s: %v", wr.name, err)
			}
			if got := rec.Body.String(); got != want {
				t.Errorf("%s (without WriteString: %v)\n got %.300s\nwant %.300s", wr.name, plain, got, want)
			}
			h := rec.Header()
			if rec.Code != http.StatusAccepted || h.Get("Content-Type") != dfwire.ContentType || h.Get("Content-Length") != "" {
				t.Errorf("%s: %d, headers %v, want WriteJSON's", wr.name, rec.Code, h)
			}
		}
	}
}

// WriteStatusList writes what MarshalStatusList renders, for no status,
// one, and all the cases (a large one among them).
func TestWriteStatusList(t *testing.T) {
	var all []*dfwire.Status
	for _, tc := range statusWireCases() {
		all = append(all, tc.row.oldStatus())
	}
	all = append(all, bigRow(1<<20).oldStatus())
	for _, list := range [][]*dfwire.Status{nil, all[:1], all} {
		want := dfwire.MarshalStatusList(list)
		for _, plain := range []bool{false, true} {
			rec := httptest.NewRecorder()
			var w http.ResponseWriter = rec
			if plain {
				w = plainWriter{rec}
			}
			if err := dfwire.WriteStatusList(w, http.StatusOK, list); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec.Body.Bytes(), want) || rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != dfwire.ContentType {
				t.Errorf("%d statuses (without WriteString: %v): %d, %d bytes, want %d", len(list), plain, rec.Code, rec.Body.Len(), len(want))
			}
		}
	}
}

// bigRow is a status whose input and output are larger than the
// writer's buffer: a JSON document and a text that is not JSON.
func bigRow(n int) statusRow {
	input := `{"data":"` + strings.Repeat("abcdefghij", n/10) + `"}`
	output := strings.Repeat("not JSON é ", n/12)
	return statusRow{name: "Big", id: "big", status: "Completed", input: input, output: output, custom: `{"k":1}`}
}

// A payload larger than the writer's buffer is written whole and in
// order, by every writer, as MarshalJSON writes it.
func TestStatusWireLarge(t *testing.T) {
	row := bigRow(1 << 20)
	want, _ := row.oldStatus().MarshalJSON()
	checkStatusWire(t, row, string(want))
}

// Over a real connection a status written in pieces arrives as the whole
// body written at once (WriteJSON of MarshalJSON) did: the same bytes,
// and the same framing (net/http's Content-Length for a small body,
// chunked for a large one).
func TestWriteStatusTextServer(t *testing.T) {
	for _, row := range []statusRow{bigRow(100), bigRow(3 << 20)} {
		want, _ := row.oldStatus().MarshalJSON()
		old := serveOnce(t, func(w http.ResponseWriter) { _ = dfwire.WriteJSON(w, http.StatusOK, want) })
		got := serveOnce(t, func(w http.ResponseWriter) { _ = dfwire.WriteStatusText(w, http.StatusOK, row.textStatus()) })
		if !bytes.Equal(got.body, want) || !bytes.Equal(old.body, want) {
			t.Errorf("%d-byte status: body differs: %d bytes, want %d", len(want), len(got.body), len(want))
		}
		if got.length != old.length || !reflect.DeepEqual(got.encoding, old.encoding) || got.contentType != old.contentType {
			t.Errorf("%d-byte status: Content-Length %d, Transfer-Encoding %v, Content-Type %q; WriteJSON gives %d, %v, %q",
				len(want), got.length, got.encoding, got.contentType, old.length, old.encoding, old.contentType)
		}
	}
}

type served struct {
	body        []byte
	length      int64
	encoding    []string
	contentType string
}

// serveOnce answers one GET with write over a real connection.
func serveOnce(t *testing.T, write func(http.ResponseWriter)) served {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { write(w) }))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return served{body: body, length: resp.ContentLength, encoding: resp.TransferEncoding, contentType: resp.Header.Get("Content-Type")}
}

// PayloadText returns valid JSON as the very string it was given, and
// the same value as Payload for every kind of text.
func TestPayloadText(t *testing.T) {
	for _, in := range []string{"", " ", "\t\n", `{"a":1}`, ` [1, 2] `, `"s"`, `null`, `not json <&>`, `{"a":`, "é\x01\xff"} {
		got := dfwire.PayloadText(in)
		if want := string(dfwire.Payload(in)); got != want {
			t.Errorf("PayloadText(%q) = %q, Payload gives %q", in, got, want)
		}
	}
	big := `"` + strings.Repeat("x", 1<<20) + `"`
	if got := dfwire.PayloadText(big); unsafe.StringData(got) != unsafe.StringData(big) {
		t.Errorf("PayloadText copied a valid JSON payload of %d bytes", len(big))
	}
}

// discardWriter is a ResponseWriter that takes strings and keeps nothing,
// as net/http's does.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header               { return d.h }
func (d *discardWriter) Write(b []byte) (int, error)       { return len(b), nil }
func (d *discardWriter) WriteString(s string) (int, error) { return len(s), nil }
func (d *discardWriter) WriteHeader(int)                   {}

// Building and writing the status of an instance with a 16 MB input and
// output allocates nothing near the payloads' size: no copy of them is
// made on the way (the buffers and small fields are a few tens of KB).
func TestWriteStatusTextNoCopy(t *testing.T) {
	const size = 16 << 20
	row := statusRow{name: "Big", id: "big", status: "Completed",
		input: `"` + strings.Repeat("a", size) + `"`, output: `{"b":"` + strings.Repeat("b", size) + `"}`}
	for _, plain := range []bool{false, true} {
		var w http.ResponseWriter = &discardWriter{h: http.Header{}}
		if plain {
			w = plainWriter{w}
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := dfwire.WriteStatusText(w, http.StatusOK, row.textStatus()); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("writing a status with two %d MB payloads (without WriteString: %v) allocated %d bytes", size>>20, plain, n)
		}
	}
}
