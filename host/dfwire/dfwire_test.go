package dfwire_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/host/dfwire"
	sp "github.com/funchost/funchost/storageprovider"
)

func TestStatusMarshal(t *testing.T) {
	s := &dfwire.Status{
		Name: "Hello", InstanceID: "i<1>", RuntimeStatus: "Running",
		CreatedTime:     time.Date(2024, 1, 2, 3, 4, 5, 999999999, time.UTC),
		LastUpdatedTime: time.Date(2024, 1, 2, 4, 4, 5, 0, time.FixedZone("x", 3600)),
		CustomStatus:    json.RawMessage(`{"a":"<&>",  "b":1}`),
	}
	want := `{"name":"Hello","instanceId":"i<1>","runtimeStatus":"Running","input":null,"customStatus":{"a":"<&>",  "b":1},"output":null,"createdTime":"2024-01-02T03:04:05Z","lastUpdatedTime":"2024-01-02T03:04:05Z"}`
	got, _ := s.MarshalJSON()
	if string(got) != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	s.HistoryEvents = []json.RawMessage{json.RawMessage(`{"EventType":"ExecutionStarted"}`)}
	if got, _ := s.MarshalJSON(); !strings.HasSuffix(string(got), `,"historyEvents":[{"EventType":"ExecutionStarted"}]}`) {
		t.Fatalf("history missing: %s", got)
	}
	if got := string(dfwire.MarshalStatusList(nil)); got != "[]" {
		t.Fatalf("empty list = %s", got)
	}
	if got := string(dfwire.MarshalStatusList([]*dfwire.Status{s, s})); !strings.HasPrefix(got, `[{"name":"Hello"`) || strings.Count(got, `"name"`) != 2 {
		t.Fatalf("list = %s", got)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	in := []*dfwire.Status{
		{Name: "A", InstanceID: "x y", RuntimeStatus: "Completed", Input: json.RawMessage(`{"n":1}`), Output: json.RawMessage(`"done"`),
			CreatedTime: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), LastUpdatedTime: time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC),
			HistoryEvents: []json.RawMessage{json.RawMessage(`{"EventType":"ExecutionStarted","Timestamp":"2024-05-06T07:08:09.0000000Z"}`)}},
		{Name: "B", InstanceID: "b", RuntimeStatus: "Running",
			CreatedTime: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), LastUpdatedTime: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)},
	}
	var out []*dfwire.Status
	if err := json.Unmarshal(dfwire.MarshalStatusList(in), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip\n got %+v\nwant %+v", out, in)
	}
	var bad dfwire.Status
	if err := json.Unmarshal([]byte(`{"createdTime":"yesterday"}`), &bad); err == nil || !strings.Contains(err.Error(), "createdTime") {
		t.Fatalf("bad time: %v", err)
	}
}

func TestPayload(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  ", `""`},
		{`{"a":1}`, `{"a":1}`},
		{`not json <&>`, `"not json <&>"`},
		{`42`, `42`},
	}
	for _, tt := range tests {
		if got := string(dfwire.Payload(tt.in)); got != tt.want {
			t.Errorf("Payload(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestHistory(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 1234567*100, time.UTC)
	ev := func(typ sp.EventType, id int, f func(*sp.HistoryEvent)) *sp.HistoryEvent {
		e := &sp.HistoryEvent{EventType: typ, EventID: id, Timestamp: t0}
		if f != nil {
			f(e)
		}
		return e
	}
	history := []*sp.HistoryEvent{
		ev(sp.EventOrchestratorStarted, -1, nil),
		ev(sp.EventExecutionStarted, -1, func(e *sp.HistoryEvent) {
			e.Name, e.Input, e.Version = "Hello", `"in"`, "1"
			e.OrchestrationInstance = &sp.OrchestrationInstance{InstanceID: "i", ExecutionID: "e"}
		}),
		ev(sp.EventTaskScheduled, 0, func(e *sp.HistoryEvent) { e.Name, e.Input = "SayHello", `"Tokyo"` }),
		ev(sp.EventTaskScheduled, 1, func(e *sp.HistoryEvent) { e.Name, e.Input = "SayHello", `"Lima"` }),
		ev(sp.EventSubOrchestrationInstanceCreated, 2, func(e *sp.HistoryEvent) { e.Name, e.InstanceID = "Child", "c1" }),
		ev(sp.EventOrchestratorCompleted, -1, nil),
		ev(sp.EventTaskCompleted, -1, func(e *sp.HistoryEvent) { e.TaskScheduledID, e.Result = 0, `"Hello Tokyo!"` }),
		ev(sp.EventSubOrchestrationInstanceFailed, -1, func(e *sp.HistoryEvent) {
			e.TaskScheduledID, e.Reason = 2, "boom"
			e.FailureDetails = &sp.FailureDetails{ErrorType: "E", ErrorMessage: "boom"}
		}),
		ev(sp.EventTimerFired, -1, func(e *sp.HistoryEvent) { e.TimerID, e.FireAt = 4, t0 }),
		ev(sp.EventExecutionSuspended, -1, func(e *sp.HistoryEvent) { e.Reason = "pause" }),
		ev(sp.EventExecutionCompleted, 3, func(e *sp.HistoryEvent) { e.OrchestrationStatus, e.Result = sp.StatusCompleted, `["x"]` }),
	}
	ts := `"2024-01-01T00:00:00.1234567Z"`
	fail := `"Reason":"boom","FailureDetails":{"ErrorType":"E","ErrorMessage":"boom"}}`
	tests := []struct {
		name              string
		showInput, output bool
		want              []string
	}{
		{"default", true, false, []string{
			`{"EventType":"ExecutionStarted","Timestamp":` + ts + `,"FunctionName":"Hello","Input":"\"in\""}`,
			`{"EventType":"TaskScheduled","Timestamp":` + ts + `,"Name":"SayHello","Input":"\"Lima\""}`,
			`{"EventType":"TaskCompleted","Timestamp":` + ts + `,"FunctionName":"SayHello","ScheduledTime":` + ts + `,"Input":"\"Tokyo\""}`,
			`{"EventType":"SubOrchestrationInstanceFailed","Timestamp":` + ts + `,"FunctionName":"Child","ScheduledTime":` + ts + `,"Input":null,` + fail,
			`{"EventType":"TimerFired","Timestamp":` + ts + `,"FireAt":` + ts + `}`,
			`{"EventType":"ExecutionSuspended","Timestamp":` + ts + `,"Reason":"pause"}`,
			`{"EventType":"ExecutionCompleted","Timestamp":` + ts + `,"OrchestrationStatus":"Completed"}`,
		}},
		{"output, no input", false, true, []string{
			`{"EventType":"ExecutionStarted","Timestamp":` + ts + `,"FunctionName":"Hello"}`,
			`{"EventType":"TaskScheduled","Timestamp":` + ts + `,"Name":"SayHello"}`,
			`{"EventType":"TaskCompleted","Timestamp":` + ts + `,"FunctionName":"SayHello","ScheduledTime":` + ts + `,"Result":"Hello Tokyo!"}`,
			`{"EventType":"SubOrchestrationInstanceFailed","Timestamp":` + ts + `,"FunctionName":"Child","ScheduledTime":` + ts + `,` + fail,
			`{"EventType":"TimerFired","Timestamp":` + ts + `,"FireAt":` + ts + `}`,
			`{"EventType":"ExecutionSuspended","Timestamp":` + ts + `,"Reason":"pause"}`,
			`{"EventType":"ExecutionCompleted","Timestamp":` + ts + `,"OrchestrationStatus":"Completed","Result":["x"]}`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := dfwire.History(history, tt.showInput, tt.output)
			got := dfwire.MarshalHistory(events)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events, want %d: %s", len(got), len(tt.want), got)
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("event %d\n got %s\nwant %s", i, got[i], tt.want[i])
				}
				// What is written decodes to what was built.
				var back dfwire.HistoryEvent
				if err := json.Unmarshal(got[i], &back); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(back, events[i]) {
					t.Errorf("event %d decodes to %+v, want %+v", i, back, events[i])
				}
			}
		})
	}
	if got := dfwire.History(history, true, false)[2].InputText(); got != `"Tokyo"` {
		t.Fatalf("InputText = %q", got)
	}
}

func TestLinksAndCheckStatus(t *testing.T) {
	l := dfwire.Links{Base: "https://app.example.com/runtime/webhooks/durabletask", Query: dfwire.LinkQuery("Hub 1", "Storage", "a&b")}
	p := l.CheckStatus("x y/z", true)
	inst := "https://app.example.com/runtime/webhooks/durabletask/instances/x%20y%2Fz"
	q := "taskHub=Hub+1&connection=Storage&code=a%26b"
	want := dfwire.CheckStatus{
		ID:                    "x y/z",
		StatusQueryGetURI:     inst + "?" + q + "&returnInternalServerErrorOnFailure=true",
		SendEventPostURI:      inst + "/raiseEvent/{eventName}?" + q,
		TerminatePostURI:      inst + "/terminate?reason={text}&" + q,
		PurgeHistoryDeleteURI: inst + "?" + q,
		RestartPostURI:        inst + "/restart?" + q,
		SuspendPostURI:        inst + "/suspend?reason={text}&" + q,
		ResumePostURI:         inst + "/resume?reason={text}&" + q,
		RewindPostURI:         inst + "/rewind?reason={text}&" + q,
	}
	if p != want {
		t.Fatalf("\n got %+v\nwant %+v", p, want)
	}
	w := httptest.NewRecorder()
	if err := dfwire.WriteCheckStatus(w, p); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusAccepted || w.Header().Get("Location") != p.StatusQueryGetURI || w.Header().Get("Retry-After") != "10" ||
		w.Header().Get("Content-Type") != dfwire.ContentType {
		t.Fatalf("response %d %v", w.Code, w.Header())
	}
	if strings.Contains(w.Body.String(), `\u0026`) {
		t.Fatalf("URLs are HTML-escaped: %s", w.Body)
	}
	var back dfwire.CheckStatus
	if err := json.Unmarshal(w.Body.Bytes(), &back); err != nil || back != p {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}

func TestWriteErrorAndPurge(t *testing.T) {
	w := httptest.NewRecorder()
	_ = dfwire.WriteError(w, http.StatusConflict, "An instance with ID 'a<b>' already exists.")
	if w.Code != 409 || w.Body.String() != `{"Message":"An instance with ID 'a<b>' already exists."}` {
		t.Fatalf("error: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	_ = dfwire.WritePurgeResult(w, 3)
	var pr dfwire.PurgeResult
	if err := json.Unmarshal(w.Body.Bytes(), &pr); err != nil || pr.InstancesDeleted != 3 || w.Code != 200 {
		t.Fatalf("purge: %d %s", w.Code, w.Body)
	}
}
