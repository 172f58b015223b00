package dfwire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/funchost/funchost/internal/payload"
)

// StatusText is a status object whose payloads are text: what the host's
// own status endpoints write. A status read of an instance with a large
// input or output then holds the payload once, in the string the task hub
// returned: PayloadText passes valid JSON through as that same string,
// and WriteStatusText writes it from there. Status, with json.RawMessage
// payloads, is the type tools decode into; the two encode to the same
// bytes.
type StatusText struct {
	Name          string
	InstanceID    string
	RuntimeStatus string
	// Input, CustomStatus and Output are JSON text as PayloadText returns
	// it; "" encodes as null.
	Input        string
	CustomStatus string
	Output       string
	// CreatedTime, LastUpdatedTime, Version and HistoryEvents are as in
	// Status.
	CreatedTime     time.Time
	LastUpdatedTime time.Time
	Version         string
	HistoryEvents   []json.RawMessage
}

// MarshalJSON writes the same bytes as Status.MarshalJSON of the same
// status.
func (s *StatusText) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	p := s.parts()
	b.Grow(p.length())
	p.write(&b)
	return b.Bytes(), nil
}

// PayloadText is Payload as text: stored payload text that is valid JSON
// is returned as is — the same string, not a copy, validated in place —
// text that is not JSON becomes a JSON string, whitespace-only text "\"\"",
// and no text "" (null).
func PayloadText(text string) string {
	switch payloadKind(text) {
	case payloadNone:
		return ""
	case payloadBlank:
		return `""`
	case payloadJSON:
		return text
	}
	b, _ := Marshal(text)
	return string(b)
}

// What stored payload text shows as (see Payload).
const (
	payloadNone  = iota // no text: null
	payloadBlank        // whitespace only: ""
	payloadJSON         // valid JSON: as is
	payloadOther        // anything else: a JSON string of the text
)

func payloadKind(text string) int {
	switch {
	case text == "":
		return payloadNone
	case strings.TrimSpace(text) == "":
		return payloadBlank
	case payload.Valid(text):
		return payloadJSON
	}
	return payloadOther
}

// WriteStatusText writes a status object with code, in pieces: the JSON
// around the payloads, and each payload straight from its string, so the
// body is never built whole. The headers are those of WriteJSON.
func WriteStatusText(w http.ResponseWriter, code int, s *StatusText) error {
	p := s.parts()
	return writeBody(w, code, p.write)
}

// WriteStatusList writes statuses as MarshalStatusList renders them, in
// pieces as WriteStatusText does (the list is not built whole).
func WriteStatusList(w http.ResponseWriter, code int, list []*Status) error {
	return writeBody(w, code, func(s sink) {
		_, _ = s.WriteString("[")
		for i, st := range list {
			if i > 0 {
				_, _ = s.WriteString(",")
			}
			p := st.parts()
			p.write(s)
		}
		_, _ = s.WriteString("]")
	})
}

// WriteJSONText is WriteJSON for a body held as a string (an
// orchestration's output), written from the string.
func WriteJSONText(w http.ResponseWriter, code int, body string) error {
	return writeBody(w, code, func(s sink) { _, _ = s.WriteString(body) })
}

func (s *StatusText) parts() statusParts {
	return statusParts{
		name: s.Name, instanceID: s.InstanceID, runtimeStatus: s.RuntimeStatus,
		input: jsonValue{text: s.Input}, customStatus: jsonValue{text: s.CustomStatus}, output: jsonValue{text: s.Output},
		createdTime: s.CreatedTime, lastUpdatedTime: s.LastUpdatedTime, version: s.Version, history: s.HistoryEvents,
	}
}

func (s *Status) parts() statusParts {
	return statusParts{
		name: s.Name, instanceID: s.InstanceID, runtimeStatus: s.RuntimeStatus,
		input: jsonValue{raw: s.Input}, customStatus: jsonValue{raw: s.CustomStatus}, output: jsonValue{raw: s.Output},
		createdTime: s.CreatedTime, lastUpdatedTime: s.LastUpdatedTime, version: s.Version, history: s.HistoryEvents,
	}
}

// jsonValue is one JSON value of a status object, held as the text or
// the bytes it came in (either may be a large payload, so neither is
// converted to the other); empty is null.
type jsonValue struct {
	text string
	raw  []byte
}

func (v jsonValue) write(w sink) {
	switch {
	case len(v.raw) > 0:
		_, _ = w.Write(v.raw)
	case v.text != "":
		_, _ = w.WriteString(v.text)
	default:
		_, _ = w.WriteString("null")
	}
}

// sink receives a body in pieces: a bytes.Buffer, a counter, or a
// buffered http.ResponseWriter.
type sink interface {
	io.Writer
	io.StringWriter
}

// statusParts is what a status object is written from, whichever type
// holds it, so that Status and StatusText write the same bytes.
type statusParts struct {
	name, instanceID, runtimeStatus string
	input, customStatus, output     jsonValue
	createdTime, lastUpdatedTime    time.Time
	version                         string
	history                         []json.RawMessage
}

// write writes the fields in Status's order, payloads byte for byte.
func (p *statusParts) write(w sink) {
	field := func(sep, name string) {
		_, _ = w.WriteString(sep)
		writeString(w, name)
	}
	field(`{"name":`, p.name)
	field(`,"instanceId":`, p.instanceID)
	field(`,"runtimeStatus":`, p.runtimeStatus)
	_, _ = w.WriteString(`,"input":`)
	p.input.write(w)
	_, _ = w.WriteString(`,"customStatus":`)
	p.customStatus.write(w)
	_, _ = w.WriteString(`,"output":`)
	p.output.write(w)
	field(`,"createdTime":`, FormatStatusTime(p.createdTime))
	field(`,"lastUpdatedTime":`, FormatStatusTime(p.lastUpdatedTime))
	if p.version != "" {
		field(`,"version":`, p.version)
	}
	if len(p.history) > 0 {
		_, _ = w.WriteString(`,"historyEvents":[`)
		for i, h := range p.history {
			if i > 0 {
				_, _ = w.WriteString(",")
			}
			jsonValue{raw: h}.write(w)
		}
		_, _ = w.WriteString("]")
	}
	_, _ = w.WriteString("}")
}

// length is the number of bytes write writes, found by writing to a
// counter (the small fields are encoded; the payloads are only measured).
func (p *statusParts) length() int {
	var n counter
	p.write(&n)
	return int(n)
}

// responseChunk is the buffer the small pieces of a body are gathered in
// before they reach the http.ResponseWriter. A payload larger than it
// goes to the writer directly from its string when the writer takes
// strings (net/http's does), else through the buffer a chunk at a time;
// either way it is never copied whole.
const responseChunk = 32 << 10

// writeBody writes the JSON body that write produces as a response with
// code and ContentType, as WriteJSON does: no Content-Length of its own
// (net/http adds one when the whole body fits its buffer, as it did for
// WriteJSON's single write; a larger body is chunked either way).
func writeBody(w http.ResponseWriter, code int, write func(sink)) error {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(code)
	bw := responseBuffers.Get().(*bufio.Writer)
	bw.Reset(w)
	write(bw)
	err := bw.Flush()
	bw.Reset(nil) // the pool keeps no response
	responseBuffers.Put(bw)
	return err
}

// responseBuffers keeps writeBody's buffers between responses: clients
// poll the status, and each poll would otherwise allocate one.
var responseBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, responseChunk) }}

// counter is a sink that counts what it is given.
type counter int64

func (c *counter) Write(b []byte) (int, error) {
	*c += counter(len(b))
	return len(b), nil
}

func (c *counter) WriteString(s string) (int, error) {
	*c += counter(len(s))
	return len(s), nil
}
