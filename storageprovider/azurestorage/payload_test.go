package azurestorage

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// encodeMessageBefore is how encodeMessage rendered a message before it
// spliced the event into the body: the body must stay byte for byte the
// same (DTFx reads it).
func encodeMessageBefore(t *testing.T, m *sp.TaskMessage, activityID string, sender sp.OrchestrationInstance) []byte {
	t.Helper()
	b, err := json.Marshal(m.Event)
	if err != nil {
		t.Fatal(err)
	}
	var ev bytes.Buffer
	ev.WriteString(`{"$type":`)
	tn, _ := json.Marshal(eventTypeName(m.Event.EventType))
	ev.Write(tn)
	if len(b) > 2 {
		ev.WriteByte(',')
	}
	ev.Write(b[1:])
	target := m.Target
	out, err := json.Marshal(messageData{
		Type: typeMessageData, ActivityID: activityID,
		TaskMessage: &taskMessageJSON{Type: typeTaskMessage, Event: ev.Bytes(), SequenceNumber: m.SequenceNumber,
			OrchestrationInstance: &target},
		SequenceNumber: m.SequenceNumber, Sender: senderJSON(sender),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEncodeMessageUnchanged(t *testing.T) {
	big := `{"html":"<a & b>","s":"` + strings.Repeat("é\u2028x", 200_000) + `"}`
	for _, tc := range []struct {
		name string
		ev   *sp.HistoryEvent
		aid  string
	}{
		{"start", sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}, "Echo", "", `"in"`), "a1"},
		{"large start", sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}, "Echo", "v1", big), "b2"},
		{"raised, quotes in the activity ID", sp.NewEventRaisedEvent(sp.Now(), "ev", `null`), `x","Event":0,"y`},
		{"empty event", &sp.HistoryEvent{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &sp.TaskMessage{Event: tc.ev, Target: sp.OrchestrationInstance{InstanceID: "i<1>", ExecutionID: "e"}, SequenceNumber: 3}
			from := sp.OrchestrationInstance{InstanceID: "from"}
			got, err := encodeMessage(m, tc.aid, from)
			if err != nil {
				t.Fatal(err)
			}
			if want := encodeMessageBefore(t, m, tc.aid, from); !bytes.Equal(got, want) {
				t.Fatalf("body changed:\n got %.300s\nwant %.300s", got, want)
			}
			d, err := decodeBody(string(got))
			if err != nil || d.msg == nil || d.msg.Event.Input != tc.ev.Input || d.msg.Target != m.Target || d.msg.SequenceNumber != 3 {
				t.Fatalf("decoded %+v, %v", d.msg, err)
			}
		})
	}
}

// decodeBody reads JSON and Base64 bodies, blob references and the
// counts funchost adds; malformed bodies are errors, never panics.
func TestDecodeBodyForms(t *testing.T) {
	m := &sp.TaskMessage{Event: sp.NewEventRaisedEvent(sp.Now(), "go", `{"n":1}`), Target: sp.OrchestrationInstance{InstanceID: "i"}}
	body, err := encodeMessage(m, "aid", sp.OrchestrationInstance{})
	if err != nil {
		t.Fatal(err)
	}
	counted := strings.TrimSuffix(string(body), "}") + `,"FunchostRejections":2,"FunchostLocalDeliveries":1}`
	for _, tc := range []struct {
		name, text     string
		input, blob    string
		rejections, ld int
		wantErr        bool
	}{
		{name: "json", text: string(body), input: `{"n":1}`},
		{name: "base64", text: base64.StdEncoding.EncodeToString(body), input: `{"n":1}`},
		{name: "counts", text: counted, input: `{"n":1}`, rejections: 2, ld: 1},
		{name: "blob reference", text: string(wrapperMessage("aid", "x/message.json.gz", 4)), blob: "x/message.json.gz"},
		{name: "empty", text: "", wantErr: true},
		{name: "not base64", text: "%%%", wantErr: true},
		{name: "no task message", text: `{"$type":"x"}`, wantErr: true},
		{name: "null event", text: `{"TaskMessage":{"Event":null}}`, wantErr: true},
		{name: "bad event", text: `{"TaskMessage":{"Event":{"EventType":"x"}}}`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decodeBody(tc.text)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if d.blobName != tc.blob || d.rejections != tc.rejections || d.localDeliveries != tc.ld {
				t.Fatalf("decoded %+v", d)
			}
			if tc.blob == "" && (d.msg == nil || d.msg.Event.Input != tc.input || d.msg.Event.Name != "go") {
				t.Fatalf("message %+v", d.msg)
			}
		})
	}
}

func TestSlabs(t *testing.T) {
	for _, n := range []int{0, 1, slabSize - 1, slabSize, slabSize + 1, 3*slabSize + slabSize/2} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		var s slabs
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 100_003) // writes that straddle slab boundaries
			if w, err := s.Write(rest[:k]); w != k || err != nil {
				t.Fatalf("Write = %d, %v", w, err)
			}
			rest = rest[k:]
		}
		if got := s.bytes(); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: bytes() gives %d (cap %d)", n, len(got), cap(got))
		}
	}
}

// Blobs keep the form they had (gzip, Content-Encoding gzip, JSON
// content type): a reader that downloads the blob whole and un-gzips it,
// as this provider did before it streamed, reads what was uploaded, and
// download reads blobs written that way and uncompressed ones.
func TestBlobFormUnchanged(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), nil)
	ctx := context.Background()
	if err := h.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat(`{"k":"välue 😀"},`, 200_000) // 3.6 MB, past several slabs
	for _, tc := range []struct {
		name, data string
		asString   bool
	}{
		{"empty", "", true},
		{"small string", `"hello"`, true},
		{"large string", big, true},
		{"large bytes", big, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "form/" + strings.ReplaceAll(tc.name, " ", "-") + ".json.gz"
			var err error
			if tc.asString {
				err = h.blobs.uploadString(ctx, name, tc.data)
			} else {
				err = h.blobs.upload(ctx, name, []byte(tc.data))
			}
			if err != nil {
				t.Fatal(err)
			}
			props, err := h.blobs.c.NewBlobClient(name).GetProperties(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if props.ContentEncoding == nil || *props.ContentEncoding != "gzip" || props.ContentType == nil || *props.ContentType != "application/json" {
				t.Fatalf("headers: encoding %v, type %v", props.ContentEncoding, props.ContentType)
			}
			if len(tc.data) > 1<<20 && *props.ContentLength >= int64(len(tc.data))/2 {
				t.Fatalf("stored %d bytes for %d: not compressed", *props.ContentLength, len(tc.data))
			}
			// The reader before streaming: the whole body (Go's transport
			// un-gzips it when it asked for gzip itself), un-gzipped again
			// when it still starts with the gzip magic bytes.
			resp, err := h.blobs.c.NewBlobClient(name).DownloadStream(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			old, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(old) >= 2 && old[0] == 0x1f && old[1] == 0x8b {
				zr, err := gzip.NewReader(bytes.NewReader(old))
				if err != nil {
					t.Fatal(err)
				}
				if old, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if string(old) != tc.data {
				t.Fatalf("the old reader got %d bytes; want %d", len(old), len(tc.data))
			}
			got, err := h.blobs.downloadString(ctx, name)
			if err != nil || got != tc.data {
				t.Fatalf("downloadString: %d bytes, %v", len(got), err)
			}
		})
	}
	// A blob written whole and uncompressed (as other writers may) reads as is.
	if _, err := h.blobs.c.NewBlockBlobClient("form/plain.json").UploadBuffer(ctx, []byte(big), &blockblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")}}); err != nil {
		t.Fatal(err)
	}
	if got, err := h.blobs.download(ctx, "form/plain.json"); err != nil || string(got) != big {
		t.Fatalf("uncompressed blob: %d bytes, %v", len(got), err)
	}
}

func TestReadMaybeGzip(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 200_000)
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	for _, tc := range []struct {
		name    string
		in      []byte
		want    string
		wantErr bool
	}{
		{"plain", []byte(`{"a":1}`), `{"a":1}`, false},
		{"one byte", []byte("x"), "x", false},
		{"empty", nil, "", false},
		{"gzip small", gz(`"hi"`), `"hi"`, false},
		{"gzip large", gz(big), big, false},
		{"truncated gzip", gz(big)[:100], "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readMaybeGzip(bytes.NewReader(tc.in))
			if (err != nil) != tc.wantErr || (!tc.wantErr && string(got) != tc.want) {
				t.Fatalf("got %d bytes, %v; want %d bytes (error %v)", len(got), err, len(tc.want), tc.wantErr)
			}
		})
	}
}
