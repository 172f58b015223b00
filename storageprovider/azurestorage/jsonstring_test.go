package azurestorage

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	sp "github.com/funchost/funchost/storageprovider"
)

// quotedCases are strings that exercise every rule of encoding/json's
// string encoding.
var quotedCases = map[string]string{
	"empty":             "",
	"plain":             "hello, world",
	"html":              `<a href="x">&amp;</a>`,
	"quote, backslash":  `say "hi" \ bye \\`,
	"named controls":    "\b\f\n\r\t",
	"other controls":    "\x00\x01\x1f\x0b\x7f",
	"line separators":   "a\u2028b\u2029c\u2027\u202a",
	"multi-byte":        "välue 😀 日本",
	"invalid UTF-8":     "a\xffb\xc3(c\xe2\x82d\xf0\x9f\x98",
	"truncated at end":  "abc\xe2\x82",
	"surrogate in UTF8": "\xed\xa0\x80x",
	"overlong":          "\xc0\xaf",
	"U+FFFD itself":     "\ufffd",
	"only escapes":      strings.Repeat("<>&\"\\\n\u2028\xff", 100),
	"large":             strings.Repeat("é\u2028x<", 5000),
}

// checkQuoted fails t unless appendQuoted and quotedLen agree with
// json.Marshal on s.
func checkQuoted(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got := appendQuoted([]byte("prefix"), s)
	if !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("appendQuoted(%q) = %s; json.Marshal gives %s", s, got[len("prefix"):], want)
	}
	if n := quotedLen(s); n != len(want) {
		t.Fatalf("quotedLen(%q) = %d; json.Marshal gives %d bytes", s, n, len(want))
	}
	// Escaped in pieces cut by runeCut, as a gzip stream writes it.
	for _, k := range []int{4, 5, 7, 64} {
		got := []byte{'"'}
		for rest := s; len(rest) > 0; {
			cut := runeCut(rest, k)
			got, rest = appendEscaped(got, rest[:cut]), rest[cut:]
		}
		if got = append(got, '"'); !bytes.Equal(got, want) {
			t.Fatalf("%q escaped in pieces of %d: %s; json.Marshal gives %s", s, k, got, want)
		}
	}
}

func TestQuotedJSONString(t *testing.T) {
	for name, s := range quotedCases {
		t.Run(name, func(t *testing.T) { checkQuoted(t, s) })
	}
	// Every single byte, and every byte after a multi-byte lead.
	for b := 0; b < 256; b++ {
		checkQuoted(t, string([]byte{byte(b)}))
		checkQuoted(t, string([]byte{0xe2, 0x80, byte(b)}))
	}
}

// FuzzQuotedJSONString runs its seeds in the normal test; go test -fuzz
// explores further.
func FuzzQuotedJSONString(f *testing.F) {
	for _, s := range quotedCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkQuoted(t, s) })
}

// encodeEvent gives json.Marshal's bytes for events with large fields,
// including one where another field holds a placeholder's text.
func TestEncodeEventSlots(t *testing.T) {
	big := strings.Repeat("<é\u2028\xff\"x", 2000)
	for _, tc := range []struct {
		name  string
		ev    sp.HistoryEvent
		slots int
	}{
		{"no large field", sp.HistoryEvent{Input: "small", Name: "n"}, 0},
		{"input", sp.HistoryEvent{Input: big, Name: "n"}, 1},
		{"all five", sp.HistoryEvent{Input: big, Result: big + "r", Reason: big, Details: big, Data: big}, 5},
		{"just below the bound", sp.HistoryEvent{Input: strings.Repeat("a", largeFieldMin-1)}, 0},
		{"at the bound", sp.HistoryEvent{Result: strings.Repeat("a", largeFieldMin)}, 1},
		{"placeholder in another field", sp.HistoryEvent{Input: big, Name: largeFieldPlaceholder(0)}, 0},
		{"placeholder inside the value itself", sp.HistoryEvent{Input: big + largeFieldPlaceholder(0)}, 1},
		{"quoted placeholder in tags", sp.HistoryEvent{Result: big, Tags: map[string]string{"k": `"` + largeFieldPlaceholder(0) + `"`}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(&tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := encodeEvent(&tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if len(ev.slots) != tc.slots {
				t.Fatalf("%d slots; want %d", len(ev.slots), tc.slots)
			}
			got, n := []byte("{"), 1
			for _, p := range ev.appendPieces(nil, 1) {
				got, n = p.appendTo(got), n+p.len()
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs:\n got %.300s\nwant %.300s", got, want)
			}
			if n != len(want) {
				t.Fatalf("length %d; want %d", n, len(want))
			}
		})
	}
}

// encodeMessage allocates a large input's body once: the body itself,
// plus the small shells.
func TestEncodeMessageOneCopy(t *testing.T) {
	const size = 8 << 20
	in := `"` + strings.Repeat("abcdefgh<", size/9) + `"`
	m := &sp.TaskMessage{
		Event:  sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}, "Echo", "", in),
		Target: sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}, SequenceNumber: 1,
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	body, err := encodeMessage(m, "a", sp.OrchestrationInstance{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc, limit := after.TotalAlloc-before.TotalAlloc, uint64(len(body))+64<<10; alloc > limit {
		t.Fatalf("encoding a %d-byte body allocated %d bytes; want at most %d", len(body), alloc, limit)
	}
	if cap(body) != len(body) {
		t.Fatalf("body capacity %d for %d bytes: not sized up front", cap(body), len(body))
	}
}
