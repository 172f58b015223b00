package azurestorage

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

func TestMessageEncoding(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)
	sched := sp.NewTaskScheduledEvent(ts, 3, "Act", "", `{"x":"\u00e9"}`)
	sched.ParentTraceContext = &sp.TraceContext{TraceParent: "00-0af7651916cd43dd8448eb211c80319c-53995c3f42cd8ad8-01", TraceState: "k=v"}
	m := &sp.TaskMessage{
		Event:          sched,
		Target:         sp.OrchestrationInstance{InstanceID: "inst", ExecutionID: "exec"},
		SequenceNumber: 7,
	}
	body, err := encodeMessage(m, "aid", sp.OrchestrationInstance{InstanceID: "sender"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(body)
	for _, want := range []string{`{"$type":"DurableTask.AzureStorage.MessageData"`, `"TaskMessage":{"$type":"DurableTask.Core.TaskMessage"`,
		`"Event":{"$type":"DurableTask.Core.History.TaskScheduledEvent","EventType":4`, `"OrchestrationInstance":{"InstanceId":"inst","ExecutionId":"exec"}`,
		`"CompressedBlobName":null`, `"Sender":{"InstanceId":"sender"`} {
		if !strings.Contains(s, want) {
			t.Errorf("body lacks %s:\n%s", want, s)
		}
	}
	for _, text := range []string{s, base64.StdEncoding.EncodeToString(body)} {
		d, err := decodeBody(text)
		if err != nil {
			t.Fatal(err)
		}
		got := d.msg
		if got.Target != m.Target || got.SequenceNumber != 7 || got.Event.Name != "Act" || got.Event.Input != m.Event.Input ||
			!got.Event.Timestamp.Equal(ts) || got.Event.EventID != 3 || got.Event.EventType != sp.EventTaskScheduled ||
			got.Event.ParentTraceContext == nil || *got.Event.ParentTraceContext != *sched.ParentTraceContext {
			t.Errorf("decoded %+v %+v", got, got.Event)
		}
	}
	d, err := decodeBody(string(wrapperMessage("aid", "inst/message-aid-TaskScheduled.json.gz", 1)))
	if err != nil || d.blobName != "inst/message-aid-TaskScheduled.json.gz" {
		t.Errorf("wrapper decoded to %+v, %v", d, err)
	}
	if eventTypeName(sp.EventGenericEvent) != "DurableTask.Core.History.GenericEvent" {
		t.Error("GenericEvent type name")
	}
}

func TestHistoryEntityRoundTrip(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)
	sched := ts.Add(time.Hour)
	events := []*sp.HistoryEvent{
		{EventType: sp.EventExecutionStarted, EventID: -1, Timestamp: ts, Name: "O", Version: "1", Input: `1`, Generation: 2,
			OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}, Tags: map[string]string{"k": "v"},
			ParentInstance:     &sp.ParentInstance{Name: "P", TaskScheduleID: 4, OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: "p", ExecutionID: "pe"}},
			ScheduledStartTime: &sched,
			ParentTraceContext: &sp.TraceContext{TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", TraceState: "k=v",
				ID: "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01", SpanID: "00f067aa0ba902b7", ActivityStartTime: &ts}},
		{EventType: sp.EventTaskScheduled, EventID: 0, Timestamp: ts, Name: "A",
			ParentTraceContext: &sp.TraceContext{TraceParent: "00-0af7651916cd43dd8448eb211c80319c-53995c3f42cd8ad8-01"}},
		{EventType: sp.EventTaskFailed, EventID: -1, Timestamp: ts, TaskScheduledID: 0, Reason: "boom", Details: "d",
			FailureDetails: &sp.FailureDetails{ErrorType: "E", ErrorMessage: "m"}},
		sp.NewTimerFiredEvent(ts, 0, ts),
		sp.NewExecutionCompletedEvent(ts, 5, sp.StatusRunning, `"r"`, nil),
	}
	for i, ev := range events {
		e := historyEntity("pk", i, "exec", ev)
		if e["RowKey"] != rowKey(i) || e["EventType"] != ev.EventType.String() {
			t.Errorf("row %d keys: %v", i, e)
		}
		back, err := eventFromEntity(normalize(t, e))
		if err != nil {
			t.Fatal(err)
		}
		if a, b := eventJSON(t, back), eventJSON(t, ev); a != b {
			t.Errorf("event %d:\n got %s\nwant %s", i, a, b)
		}
	}
	if rowKey(10) != "000000000000000A" {
		t.Errorf("rowKey(10) = %s", rowKey(10))
	}
}

func normalize(t *testing.T, e entity) entity {
	b, err := jsonMarshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var out entity
	if err := jsonUnmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func eventJSON(t *testing.T, ev *sp.HistoryEvent) string {
	b, err := sp.MarshalJSONEvents([]*sp.HistoryEvent{ev})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseBatchResponse(t *testing.T) {
	body := "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
		"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\nETag: W/\"datetime'1'\"\r\n\r\n\r\n" +
		"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\nETag: W/\"datetime'2'\"\r\n\r\n\r\n" +
		"--changesetresponse_2--\r\n--batchresponse_1--\r\n"
	h := http.Header{}
	h.Set("Content-Type", "multipart/mixed; boundary=batchresponse_1")
	subs, err := parseBatchResponse(&batchCapture{status: 202, header: h, body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[1].status != 204 || subs[1].etag != `W/"datetime'2'"` {
		t.Errorf("sub-responses = %+v", subs)
	}
	failed := strings.Replace(body, "HTTP/1.1 204 No Content\r\nETag: W/\"datetime'2'\"", "HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0", 1)
	subs, err = parseBatchResponse(&batchCapture{status: 202, header: h, body: []byte(failed)})
	if err != nil || subs[1].status != 412 {
		t.Errorf("failed batch = %+v, %v", subs, err)
	}
}

var (
	jsonMarshal   = json.Marshal
	jsonUnmarshal = json.Unmarshal
)

func TestStateChanged(t *testing.T) {
	base := &sp.OrchestrationState{InstanceID: "i", ExecutionID: "e", Name: "n", RuntimeStatus: sp.StatusRunning,
		LastUpdatedTime: time.Unix(100, 0), Tags: map[string]string{"a": "b"}}
	mod := func(f func(s *sp.OrchestrationState)) *sp.OrchestrationState { c := base.Clone(); f(c); return c }
	tests := []struct {
		name string
		s    *sp.OrchestrationState
		want bool
	}{
		{"identical", base.Clone(), false},
		{"only LastUpdatedTime, recent", mod(func(s *sp.OrchestrationState) { s.LastUpdatedTime = s.LastUpdatedTime.Add(time.Second) }), false},
		{"LastUpdatedTime stale", mod(func(s *sp.OrchestrationState) { s.LastUpdatedTime = s.LastUpdatedTime.Add(2 * time.Minute) }), true},
		{"status", mod(func(s *sp.OrchestrationState) { s.RuntimeStatus = sp.StatusCompleted }), true},
		{"custom status", mod(func(s *sp.OrchestrationState) { s.CustomStatus = `"x"` }), true},
		{"output", mod(func(s *sp.OrchestrationState) { s.Output = `"x"` }), true},
		{"custom status and a recent LastUpdatedTime", mod(func(s *sp.OrchestrationState) {
			s.CustomStatus, s.LastUpdatedTime = `"x"`, s.LastUpdatedTime.Add(time.Second)
		}), true},
		{"tags", mod(func(s *sp.OrchestrationState) { s.Tags = map[string]string{"a": "c"} }), true},
		{"failure", mod(func(s *sp.OrchestrationState) { s.FailureDetails = &sp.FailureDetails{ErrorType: "E"} }), true},
	}
	for _, tt := range tests {
		if got := stateChanged(base, tt.s); got != tt.want {
			t.Errorf("%s: stateChanged = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !stateChanged(nil, base) {
		t.Error("unknown previous row must be written")
	}
}

// TestLocalDeliveriesInBody: each release of a locally delivered message
// raises the count its body carries (plain and blob-wrapper bodies), the
// rest of the body survives, and a body the provider did not write is left
// alone.
func TestLocalDeliveriesInBody(t *testing.T) {
	m := &sp.TaskMessage{Event: sp.NewEventRaisedEvent(sp.Now(), "go", `"x"`), Target: sp.OrchestrationInstance{InstanceID: "i1"}, SequenceNumber: 7}
	plain, err := encodeMessage(m, "aid", sp.OrchestrationInstance{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
	}{
		{"plain", string(plain)},
		{"blob wrapper", string(wrapperMessage("aid", "i1/message.json.gz", 7))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			for want := 1; want <= 2; want++ {
				body = withLocalDelivery(body)
				d, err := decodeBody(body)
				if err != nil {
					t.Fatal(err)
				}
				if d.localDeliveries != want {
					t.Errorf("after %d releases the body counts %d", want, d.localDeliveries)
				}
				if d.msg != nil && (d.msg.Event.Name != "go" || d.msg.SequenceNumber != 7) {
					t.Errorf("message changed: %+v", d.msg)
				}
			}
		})
	}
	if got := withLocalDelivery(`not json`); got != `not json` {
		t.Errorf("foreign body rewritten to %q", got)
	}
}
