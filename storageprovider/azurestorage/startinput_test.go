package azurestorage

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	sp "github.com/funchost/funchost/storageprovider"
)

// startInputDecoded is how restoreInstanceColumns read an offloaded start
// message before startMessageInput: the whole message decoded, or the
// blob's text when that fails or it holds no task message.
func startInputDecoded(data []byte) string {
	d, err := decodeBodyBytes(data)
	if err == nil && d.msg != nil {
		return d.msg.Event.Input
	}
	return string(data)
}

// startBody encodes an ExecutionStarted message with input as the
// provider sends it.
func startBody(t *testing.T, input string) []byte {
	t.Helper()
	ev := sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}, "Echo", "v1", input)
	b, err := encodeMessage(&sp.TaskMessage{Event: ev, Target: *ev.OrchestrationInstance}, "a1", sp.OrchestrationInstance{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStartMessageInput(t *testing.T) {
	big := `{"s":"` + strings.Repeat(`é\u2028"q"\\ 😀<&>`, 50_000) + `"}`
	const dtfx = `{"$type":"DurableTask.AzureStorage.MessageData","ActivityId":"a","TaskMessage":{"$type":"DurableTask.Core.TaskMessage",` +
		`"Event":{"$type":"DurableTask.Core.History.ExecutionStartedEvent","EventType":0,"Input":%s,"Name":"Echo"},"SequenceNumber":0},` +
		`"CompressedBlobName":null,"SequenceNumber":0}`
	withInput := func(in string) []byte { return []byte(strings.Replace(dtfx, "%s", in, 1)) }
	cases := []struct {
		name    string
		body    []byte
		inPlace bool // read by startInputInPlace
	}{
		{"encoded, object", startBody(t, `{"a":1}`), true},
		{"encoded, string", startBody(t, `"hello"`), true},
		{"encoded, large with escapes", startBody(t, big), true},
		{"encoded, control characters", startBody(t, "\"\x01\b\f\n\r\t\x1f\""), true},
		{"encoded, invalid UTF-8 (escaped by Marshal)", startBody(t, "\"a\xffb\""), true},
		{"encoded, empty input", startBody(t, ""), false},
		{"DTFx order", withInput(`"{\"x\":[1,2,{\"y\":null}]}"`), true},
		{"surrogate pair", withInput(`"\ud83d\ude00 \u00e9 \u2028 \/"`), true},
		{"lone surrogates", withInput(`"\ud800 x \udc00\u0041 \ud800\u0041 \ud800\ud800"`), true},
		{"upper-case hex", withInput(`"\u00E9\uD83D\uDE00"`), true},
		{"raw invalid UTF-8", withInput("\"a\xffb\""), false},
		{"input null", withInput(`null`), false},
		{"input a number", withInput(`12`), false},
		{"key folded", []byte(`{"taskmessage":{"event":{"input":"\"lower\""}}}`), true},
		{"key escaped", []byte(`{"TaskMessage":{"Event":{"\u0049nput":"\"esc\""}}}`), true},
		{"duplicate keys, last wins", []byte(`{"TaskMessage":{"Event":{"Input":"1","Input":"2"}}}`), true},
		{"nested decoys", []byte(`{"X":{"TaskMessage":{"Event":{"Input":"no"}}},"A":[true,false,null,-1.5e3,"]}"],"B":{}, "TaskMessage" : { "Event" : { "Tags":{"Input":"no"}, "Input" : "\"yes\"" } } }`), true},
		{"reference to a blob", []byte(`{"CompressedBlobName":"x/y.json.gz","TaskMessage":{"Event":{"Input":"1"}}}`), false},
		{"empty reference", []byte(`{"CompressedBlobName":"","TaskMessage":{"Event":{"Input":"1"}}}`), true},
		{"no task message", []byte(`{"TaskMessage":null}`), false},
		{"Base64", []byte(base64.StdEncoding.EncodeToString(startBody(t, `"b64"`))), false},
		{"not JSON", []byte(`{"TaskMessage":`), false},
		{"leading space", append([]byte(" \n"), startBody(t, `"sp"`)...), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := startInputDecoded(bytes.Clone(tc.body))
			data := bytes.Clone(tc.body)
			_, inPlace := startInputInPlace(bytes.Clone(tc.body))
			if inPlace != tc.inPlace {
				t.Fatalf("read in place: %v, want %v", inPlace, tc.inPlace)
			}
			got := startMessageInput(data)
			if got != want {
				t.Fatalf("got %.120q\nwant %.120q", got, want)
			}
			if tc.inPlace && len(got) > 0 {
				p, lo := uintptr(unsafe.Pointer(unsafe.StringData(got))), uintptr(unsafe.Pointer(&data[0]))
				if p < lo || p+uintptr(len(got)) > lo+uintptr(len(data)) {
					t.Fatal("the input is not a view of the downloaded message")
				}
			}
		})
	}
}

// TestStartMessageInputNoCopy: reading a large input out of its start
// message allocates a small fraction of it.
func TestStartMessageInputNoCopy(t *testing.T) {
	in := `"` + strings.Repeat(`abc\"def`, 1<<20) + `"` // 8 MB with escapes
	body := startBody(t, in)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := startMessageInput(body)
	runtime.ReadMemStats(&after)
	if got != in {
		t.Fatalf("got %d bytes, want %d", len(got), len(in))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(in))/16 {
		t.Fatalf("reading an %d-byte input allocated %d bytes", len(in), alloc)
	}
}

func TestReadMaybeGzipSized(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 200_000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(big))
	zw.Close()
	for _, tc := range []struct {
		name string
		in   []byte
		hint int
	}{
		{"exact", gz.Bytes(), len(big)},
		{"too small", gz.Bytes(), len(big) / 3},
		{"one short", gz.Bytes(), len(big) - 1},
		{"too large", gz.Bytes(), len(big) * 2},
		{"unknown", gz.Bytes(), 0},
		{"plain, exact", []byte(big), len(big)},
		{"plain, too small", []byte(big), 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readMaybeGzipSized(bytes.NewReader(tc.in), tc.hint)
			if err != nil || string(got) != big {
				t.Fatalf("got %d bytes, %v; want %d", len(got), err, len(big))
			}
			if tc.hint == len(big) && cap(got) != len(big) {
				t.Fatalf("capacity %d for an exact hint of %d", cap(got), len(big))
			}
		})
	}
	if _, err := readMaybeGzipSized(bytes.NewReader(gz.Bytes()[:200]), len(big)); err == nil {
		t.Fatal("a truncated gzip read without error")
	}
}
