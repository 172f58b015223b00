package storagebindings

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/funchost/funchost/host/triggers/queue"
	"github.com/funchost/funchost/storageprovider/azurestorage"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var seq atomic.Int64

func unique(prefix string) string {
	return fmt.Sprintf("%s%d-%d", prefix, time.Now().UnixNano()%1e9, seq.Add(1))
}

func conn(t *testing.T) azurestorage.Connection {
	t.Helper()
	c, err := azurestorage.ParseConnectionString(azuritetest.ConnectionString(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExpand(t *testing.T) {
	data := Data{"QueueTrigger": "hello", "Id": "abc", "name": "doc1", "DequeueCount": "2"}
	tests := []struct{ in, want, err string }{
		{"out/{queueTrigger}.txt", "out/hello.txt", ""},
		{"in/{name}/{id}", "in/doc1/abc", ""},
		{"static/path", "static/path", ""},
		{"x/{ NAME }", "x/doc1", ""},
		{"x/{missing}", "", "No value for named parameter 'missing'."},
		{"x/{open", "", "'{' without '}'"},
		{"x/close}", "", "'}' without '{'"},
		{"x/{}", "", "empty {}"},
	}
	for _, tc := range tests {
		got, err := Expand(tc.in, data)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	g, err := Expand("x/{rand-guid}", nil)
	if err != nil || len(g) != len("x/")+36 {
		t.Errorf("rand-guid: %q %v", g, err)
	}
	d, err := Expand("logs/{DateTime}.log", nil)
	if err != nil || !strings.HasPrefix(d, "logs/20") || !strings.HasSuffix(d, "Z.log") || strings.Contains(d, ":") {
		t.Errorf("DateTime: %q %v", d, err)
	}
}

func TestSplitBlobPath(t *testing.T) {
	for path, want := range map[string]string{
		"samples/a.json": "samples|a.json", "/samples/dir/a.json": "samples|dir/a.json",
		"samples": "", "Samples/a": "", "ab/a": "", "samples/": "", "a--b/x": "",
	} {
		c, b, err := SplitBlobPath(path)
		got := ""
		if err == nil {
			got = c + "|" + b
		}
		if got != want {
			t.Errorf("SplitBlobPath(%q) = %q (%v), want %q", path, got, err, want)
		}
	}
}

func TestMessageBody(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{"text", "text"}, {[]byte("raw"), "raw"}, {json.RawMessage(`{"a":1}`), `{"a":1}`},
		{map[string]int{"n": 1}, `{"n":1}`}, {42, "42"},
	} {
		b, err := MessageBody(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("MessageBody(%#v) = %q, %v", tc.v, b, err)
		}
	}
	if _, err := MessageBody(nil); err == nil {
		t.Error("nil accepted")
	}
	if _, err := MessageBody(func() {}); err == nil {
		t.Error("a func accepted")
	}
}

func peek(t *testing.T, svc *azqueue.ServiceClient, q string) []string {
	t.Helper()
	resp, err := svc.NewQueueClient(q).PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range resp.Messages {
		out = append(out, *m.MessageText)
	}
	return out
}

// TestQueueOutput: nothing is sent before Flush (a failed function never
// flushes); arrays give one message per element; bodies are encoded.
func TestQueueOutput(t *testing.T) {
	svc, err := conn(t).QueueServiceClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		encoding string
		set      []any
		add      []any
		want     []string
	}{
		{"string base64", queue.EncodingBase64, nil, []any{"hello"}, []string{"aGVsbG8="}},
		{"json none", queue.EncodingNone, nil, []any{map[string]int{"n": 1}}, []string{`{"n":1}`}},
		{"array yields one each", queue.EncodingNone, []any{[]string{"a", "b", "c"}}, nil, []string{"a", "b", "c"}},
		{"bytes are one message", queue.EncodingNone, []any{[]byte("ab")}, nil, []string{"ab"}},
		{"add twice", queue.EncodingNone, nil, []any{"x", "y"}, []string{"x", "y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := unique("out")
			out := NewQueueOutput(queue.NewSender(svc), q, tc.encoding)
			for _, v := range tc.set {
				if err := out.Set(v); err != nil {
					t.Fatal(err)
				}
			}
			for _, v := range tc.add {
				if err := out.Add(v); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.NewQueueClient(q).GetProperties(context.Background(), nil); err == nil {
				t.Fatal("the queue exists before Flush")
			}
			if err := out.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := peek(t, svc, q); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("queue holds %q, want %q", got, tc.want)
			}
			if len(out.Pending()) != 0 {
				t.Fatal("messages still pending after Flush")
			}
		})
	}
}

func TestBlobInputOutput(t *testing.T) {
	svc, err := conn(t).BlobServiceClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	blobs := NewBlobs(svc)
	container := unique("c")
	path := container + "/docs/a.json"
	if data, ok, err := blobs.Read(ctx, path); err != nil || ok || data != nil {
		t.Fatalf("missing blob: %q %v %v", data, ok, err)
	}
	out := NewBlobOutput(blobs, path)
	if err := out.Set(map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := blobs.Read(ctx, path); ok {
		t.Fatal("written before Flush")
	}
	if err := out.Flush(ctx); err != nil { // creates the container
		t.Fatal(err)
	}
	data, ok, err := blobs.Read(ctx, path)
	if err != nil || !ok || string(data) != `{"v":"1"}` {
		t.Fatalf("read back %q %v %v", data, ok, err)
	}
	out2 := NewBlobOutput(blobs, path)
	_ = out2.Set("overwritten")
	if err := out2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if data, _, _ := blobs.Read(ctx, path); string(data) != "overwritten" {
		t.Fatalf("after overwrite: %q", data)
	}
	// Flush without a value writes nothing.
	if err := NewBlobOutput(blobs, container+"/never").Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := blobs.Read(ctx, container+"/never"); ok {
		t.Fatal("an unset output was written")
	}
}

func TestAccountsPrepareAndFlush(t *testing.T) {
	ctx := context.Background()
	cs := azuritetest.ConnectionString(t)
	settings := map[string]string{"AzureWebJobsStorage": cs, "OutQueue": unique("o")}
	lookup := func(k string) (string, bool) { v, ok := settings[k]; return v, ok }
	resolve := func(s string) (string, error) {
		return strings.NewReplacer("%OutQueue%", settings["OutQueue"]).Replace(s), nil
	}
	acc := NewAccounts(lookup)
	var woke []string
	acc.OnSend = func(q string) { woke = append(woke, q) }
	container := unique("c")
	blobs, err := acc.Blobs("")
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs.Write(ctx, container+"/in/doc1.txt", []byte("input doc")); err != nil {
		t.Fatal(err)
	}
	bs := []Binding{
		{Name: "out", Kind: KindQueueOutput, QueueName: "%OutQueue%"},
		{Name: "doc", Kind: KindBlobInput, Path: container + "/in/{name}.txt"},
		{Name: "missing", Kind: KindBlobInput, Path: container + "/in/none-{name}.txt", Connection: "AzureWebJobsStorage"},
		{Name: "copy", Kind: KindBlobOutput, Path: container + "/out/{Id}.txt", Connection: "Storage"},
	}
	v, err := acc.Prepare(ctx, bs, Data{"name": "doc1", "Id": "m1"}, queue.EncodingNone, resolve)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.BlobInputs["doc"]; !got.Found || string(got.Data) != "input doc" {
		t.Fatalf("blob input %+v", got)
	}
	if got := v.BlobInputs["missing"]; got.Found || got.Data != nil {
		t.Fatalf("missing blob %+v", got)
	}
	_ = v.Queues["out"].Add("msg")
	_ = v.BlobOuts["copy"].Set("copied")
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	qsvc, _, _ := acc.Queue("")
	if got := peek(t, qsvc, settings["OutQueue"]); len(got) != 1 || got[0] != "msg" {
		t.Fatalf("queue %v", got)
	}
	if data, ok, _ := blobs.Read(ctx, container+"/out/m1.txt"); !ok || string(data) != "copied" {
		t.Fatalf("blob output %q %v", data, ok)
	}
	if len(woke) != 1 || woke[0] != settings["OutQueue"] {
		t.Fatalf("OnSend calls %v", woke)
	}
	// Errors name the binding.
	if _, err := acc.Prepare(ctx, []Binding{{Name: "bad", Kind: KindBlobOutput, Path: container + "/{nope}"}}, Data{}, "", resolve); err == nil || !strings.Contains(err.Error(), `binding "bad"`) {
		t.Fatalf("missing expression value: %v", err)
	}
	if _, err := acc.Prepare(ctx, []Binding{{Name: "q", Kind: KindQueueOutput, QueueName: "a_b"}}, Data{}, "", resolve); err == nil {
		t.Fatal("invalid queue name accepted")
	}
	if _, err := NewAccounts(func(string) (string, bool) { return "", false }).Blobs("Missing"); err == nil {
		t.Fatal("an unconfigured connection resolved")
	}
}
