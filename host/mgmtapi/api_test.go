package mgmtapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/durableclient/fakehub"
	"github.com/funchost/funchost/host/mgmtapi"
	sp "github.com/funchost/funchost/storageprovider"
)

func fake(t *testing.T) (*server, *fakehub.Hub) {
	hub := fakehub.New("TestHub")
	return newServer(t, hub, nil), hub
}

func setStatus(hub *fakehub.Hub, id string, s sp.OrchestrationStatus, output string) {
	hub.SetState(id, func(st *sp.OrchestrationState) { st.RuntimeStatus, st.Output = s, output })
}

func TestStartAndStatus(t *testing.T) {
	s, hub := fake(t)
	p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo", []byte(`{"a":1}`)))
	if len(p.ID) != 32 || p.RewindPostURI != "" {
		t.Fatalf("payload %+v", p)
	}
	wantStatus := s.base + "/instances/" + p.ID + "?taskHub=TestHub&connection=Storage"
	if p.StatusQueryGetURI != wantStatus {
		t.Fatalf("statusQueryGetUri %q, want %q", p.StatusQueryGetURI, wantStatus)
	}

	// Pending: 202 with Location = the request URL and Retry-After: 5.
	r := do(t, "GET", p.StatusQueryGetURI, nil)
	expect(t, r, http.StatusAccepted, "-")
	if r.header.Get("Location") != p.StatusQueryGetURI || r.header.Get("Retry-After") != "5" {
		t.Fatalf("headers %v", r.header)
	}
	created := dfwire.FormatStatusTime(time.Now())[:10] // date part
	body := string(r.body)
	prefix := `{"name":"Echo","instanceId":"` + p.ID + `","runtimeStatus":"Pending","input":{"a":1},"customStatus":null,"output":null,"createdTime":"` + created
	if !strings.HasPrefix(body, prefix) || strings.Contains(body, "historyEvents") {
		t.Fatalf("status body %s, want prefix %s", body, prefix)
	}

	codes := []struct {
		status sp.OrchestrationStatus
		query  string
		code   int
	}{
		{sp.StatusRunning, "", 202},
		{sp.StatusSuspended, "", 202},
		{sp.StatusContinuedAsNew, "", 202},
		{sp.StatusCompleted, "", 200},
		{sp.StatusTerminated, "", 200},
		{sp.StatusCanceled, "", 200},
		{sp.StatusFailed, "", 200},
		{sp.StatusFailed, "&returnInternalServerErrorOnFailure=true", 500},
		{sp.StatusFailed, "&RETURNINTERNALSERVERERRORONFAILURE=True", 500},
	}
	for _, c := range codes {
		setStatus(hub, p.ID, c.status, `"out"`)
		r := do(t, "GET", p.StatusQueryGetURI+c.query, nil)
		expect(t, r, c.code, "-")
		var st struct {
			RuntimeStatus string `json:"runtimeStatus"`
			Output        string `json:"output"`
		}
		r.json(t, &st)
		if st.RuntimeStatus != c.status.String() || st.Output != "out" {
			t.Errorf("%s: body %s", c.status, r.body)
		}
		if (c.code == 202) != (r.header.Get("Location") != "") {
			t.Errorf("%s: Location %q", c.status, r.header.Get("Location"))
		}
	}

	// showInput=false (parameter names are case-insensitive).
	r = do(t, "GET", p.StatusQueryGetURI+"&SHOWINPUT=false", nil)
	if !strings.Contains(string(r.body), `"input":null`) {
		t.Fatalf("showInput=false kept the input: %s", r.body)
	}
	// Unknown instance: 404, empty body.
	expect(t, do(t, "GET", s.base+"/instances/nope", nil), 404, "")
}

func TestStatusHistory(t *testing.T) {
	s, hub := fake(t)
	p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/h1", nil))
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	hub.SetHistory("h1", []*sp.HistoryEvent{
		{EventType: sp.EventExecutionStarted, EventID: -1, Timestamp: ts, Name: "Echo"},
		{EventType: sp.EventExecutionCompleted, EventID: 0, Timestamp: ts, OrchestrationStatus: sp.StatusCompleted, Result: `5`},
	})
	// Pending: history is never loaded.
	r := do(t, "GET", p.StatusQueryGetURI+"&showHistory=true", nil)
	if strings.Contains(string(r.body), "historyEvents") {
		t.Fatalf("history shown for a pending instance: %s", r.body)
	}
	setStatus(hub, "h1", sp.StatusCompleted, "5")
	r = do(t, "GET", p.StatusQueryGetURI+"&showHistory=true&showHistoryOutput=true", nil)
	want := `"historyEvents":[{"EventType":"ExecutionStarted","Timestamp":"2024-01-01T00:00:00.0000000Z","FunctionName":"Echo","Input":null},` +
		`{"EventType":"ExecutionCompleted","Timestamp":"2024-01-01T00:00:00.0000000Z","OrchestrationStatus":"Completed","Result":5}]}`
	if !strings.HasSuffix(string(r.body), want) {
		t.Fatalf("body %s\nwant suffix %s", r.body, want)
	}
}

func TestIDWithSpacesRoundTrips(t *testing.T) {
	s, _ := fake(t)
	id := "my instance +1 ü"
	p := checkStatus(t, do(t, "POST", s.URL+"/api/orchestrators/Echo/"+url.PathEscape(id), []byte(`"x"`)))
	if p.ID != id || !strings.Contains(p.StatusQueryGetURI, "/instances/my%20instance%20+1%20%C3%BC?") {
		t.Fatalf("payload %+v", p)
	}
	r := do(t, "GET", p.StatusQueryGetURI, nil)
	expect(t, r, 202, "-")
	var st struct{ InstanceID string }
	r.json(t, &st)
	if st.InstanceID != id {
		t.Fatalf("instanceId %q, want %q", st.InstanceID, id)
	}
	// The other URLs address the same instance.
	sendURL := strings.Replace(p.SendEventPostURI, "{eventName}", "Approval", 1)
	expect(t, do(t, "POST", sendURL, []byte(`1`), "Content-Type", "application/json"), 202, "")
	expect(t, do(t, "POST", strings.Replace(p.TerminatePostURI, "{text}", "bye", 1), nil), 202, "")
}

func TestBadInput(t *testing.T) {
	s, hub := fake(t)
	checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/running", nil))
	checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/done", nil))
	setStatus(hub, "done", sp.StatusCompleted, "")
	json := []string{"Content-Type", "application/json"}
	tests := []struct {
		name, method, path string
		body               string
		headers            []string
		code               int
		msg                string // substring of Message; "" = empty body expected
	}{
		{"invalid JSON", "POST", "/orchestrators/Echo", `{"a":`, nil, 400, "Invalid JSON content"},
		{"invalid JSON via starter", "POST", "@/api/orchestrators/Echo", `nope`, nil, 400, "Invalid JSON content"},
		{"ID starting with @", "POST", "/orchestrators/Echo/@x", ``, nil, 400, "invalid instance ID"},
		{"ID with #", "POST", "/orchestrators/Echo/a%23b", ``, nil, 400, "invalid instance ID"},
		{"ID with encoded slash", "POST", "/orchestrators/Echo/a%2Fb", ``, nil, 400, "invalid instance ID"},
		{"ID too long", "POST", "/orchestrators/Echo/" + strings.Repeat("x", 257), ``, nil, 400, "invalid instance ID"},
		{"ID via starter", "POST", "@/api/orchestrators/Echo/@x", ``, nil, 400, "invalid instance ID"},
		{"unknown orchestrator", "POST", "/orchestrators/Nope", ``, nil, 400, "unknown orchestrator"},
		{"unknown orchestrator via starter", "POST", "@/api/orchestrators/SayHello", ``, nil, 400, "unknown orchestrator"},
		{"running ID", "POST", "/orchestrators/Echo/running", ``, nil, 409, "An instance with ID 'running' already exists."},
		{"running ID via starter", "POST", "@/api/orchestrators/Echo/running", ``, nil, 409, "An instance with ID 'running' already exists."},
		{"pollingInterval > timeout", "POST", "/orchestrators/Echo?timeout=1&pollingInterval=2", ``, nil, 400, "pollingInterval"},
		{"bad timeout", "POST", "/orchestrators/Echo?timeout=soon&pollingInterval=2", ``, nil, 400, "timeout"},
		{"raiseEvent without JSON content type", "POST", "/instances/running/raiseEvent/E", `1`, []string{"Content-Type", "text/plain"}, 400, "application/json"},
		{"raiseEvent without content type", "POST", "/instances/running/raiseEvent/E", `1`, nil, 400, "application/json"},
		{"raiseEvent invalid JSON", "POST", "/instances/running/raiseEvent/E", `{`, json, 400, "Invalid JSON content"},
		{"raiseEvent bad content, missing instance", "POST", "/instances/nope/raiseEvent/E", `1`, nil, 404, ""},
		{"raiseEvent bad content, done instance", "POST", "/instances/done/raiseEvent/E", `{`, json, 410, ""},
		{"bad status name", "GET", "/instances?runtimeStatus=running", ``, nil, 400, "'running' is not a valid runtimeStatus"},
		{"bad createdTimeFrom", "GET", "/instances?createdTimeFrom=yesterday", ``, nil, 400, "createdTimeFrom"},
		{"bad top", "GET", "/instances?top=-1", ``, nil, 400, "top"},
		{"purge without createdTimeFrom", "DELETE", "/instances", ``, nil, 400, "createdTimeFrom"},
		{"purge bad status", "DELETE", "/instances?createdTimeFrom=2020-01-01T00:00:00Z&runtimeStatus=Done", ``, nil, 400, "runtimeStatus"},
		{"unknown task hub", "GET", "/instances/running?taskHub=OtherHub", ``, nil, 404, "OtherHub"},
		{"unknown connection", "GET", "/instances/running?connection=Other", ``, nil, 404, "Other"},
		{"GET on orchestrators", "GET", "/orchestrators/Echo", ``, nil, 404, ""},
		{"PUT on instance", "PUT", "/instances/running", ``, nil, 404, ""},
		{"GET on terminate", "GET", "/instances/running/terminate", ``, nil, 404, ""},
		{"GET on raiseEvent", "GET", "/instances/running/raiseEvent/E", ``, nil, 404, ""},
		{"PATCH anywhere", "PATCH", "/instances/running", ``, nil, 405, ""},
		{"unknown operation", "POST", "/instances/running/explode", ``, nil, 404, ""},
		{"unknown route", "GET", "/nothing/here", ``, nil, 404, ""},
		{"root", "GET", "/", ``, nil, 404, ""},
		{"entity without state", "GET", "/entities/counter/x", ``, nil, 404, ""},
		{"too deep", "GET", "/instances/a/b/c/d/e", ``, nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := s.base + tt.path
			if strings.HasPrefix(tt.path, "@") {
				u = s.URL + tt.path[1:]
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			r := do(t, tt.method, u, body, tt.headers...)
			expect(t, r, tt.code, "-")
			if tt.msg == "" {
				if len(r.body) != 0 {
					t.Fatalf("body %s, want none", r.body)
				}
				return
			}
			if m := messageOf(t, r); !strings.Contains(m, tt.msg) {
				t.Fatalf("Message %q does not contain %q", m, tt.msg)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	// Nothing was started by the rejected requests.
	if n := len(hub.Sent()); n != 2 {
		t.Fatalf("%d messages sent, want only the 2 setup starts", n)
	}
}

func TestControlOperations(t *testing.T) {
	type op struct {
		path string
		ev   sp.EventType
	}
	ops := []op{
		{"/raiseEvent/Approval", sp.EventEventRaised},
		{"/terminate?reason=stop", sp.EventExecutionTerminated},
		{"/suspend?reason=pause", sp.EventExecutionSuspended},
		{"/resume?reason=go", sp.EventExecutionResumed},
		{"/rewind?reason=again", sp.EventExecutionRewound},
		{"/Terminate", sp.EventExecutionTerminated}, // operation names are case-insensitive
	}
	statuses := []sp.OrchestrationStatus{sp.StatusPending, sp.StatusRunning, sp.StatusSuspended, sp.StatusContinuedAsNew,
		sp.StatusCompleted, sp.StatusFailed, sp.StatusTerminated, sp.StatusCanceled}
	for _, o := range ops {
		t.Run(o.path+"/missing", func(t *testing.T) {
			s, _ := fake(t)
			want := ""
			if o.ev == sp.EventExecutionRewound {
				want = "No instance with ID 'nope' found."
			}
			expect(t, do(t, "POST", s.base+"/instances/nope"+o.path, []byte(`1`), "Content-Type", "application/json"), 404, want)
		})
		for _, st := range statuses {
			t.Run(o.path+"/"+st.String(), func(t *testing.T) {
				s, hub := fake(t)
				checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/i", nil))
				setStatus(hub, "i", st, "")
				r := do(t, "POST", s.base+"/instances/i"+o.path, []byte(`{"x":1}`), "Content-Type", "application/json; charset=utf-8")
				want := 202
				switch {
				case o.ev == sp.EventExecutionRewound && st != sp.StatusFailed:
					want = 412
				case o.ev != sp.EventExecutionRewound && st.IsTerminal():
					want = 410
				}
				expect(t, r, want, "-")
				if want == 412 && string(r.body) != "The rewind operation is only supported on failed orchestration instances." {
					t.Fatalf("412 body %q", r.body)
				}
				sent := hub.Sent()
				if want != 202 {
					if len(sent) != 1 {
						t.Fatalf("a refused operation sent a message")
					}
					return
				}
				if len(r.body) != 0 {
					t.Fatalf("202 with body %s", r.body)
				}
				m := sent[len(sent)-1]
				if m.Event.EventType != o.ev || m.Target.InstanceID != "i" {
					t.Fatalf("sent %+v", m.Event)
				}
				if o.ev == sp.EventEventRaised && (m.Event.Name != "Approval" || m.Event.Input != `{"x":1}`) {
					t.Fatalf("event %+v", m.Event)
				}
				if o.path == "/terminate?reason=stop" && m.Event.Input != `"stop"` {
					t.Fatalf("terminate reason %q", m.Event.Input)
				}
			})
		}
	}
}

func TestRestart(t *testing.T) {
	s, hub := fake(t)
	expect(t, do(t, "POST", s.base+"/instances/nope/restart", nil), 400, errorBody("InstanceId does not match a valid orchestration instance."))
	checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/r1", []byte(`[1,2]`)))
	r := do(t, "POST", s.base+"/instances/r1/restart?restartWithNewInstanceId=false", nil)
	expect(t, r, 409, errorBody("An instance with ID 'r1' already exists."))
	p := checkStatus(t, do(t, "POST", s.base+"/instances/r1/restart", nil))
	if p.ID == "r1" || len(p.ID) != 32 {
		t.Fatalf("restart gave ID %q, want a new one", p.ID)
	}
	last := hub.Sent()[len(hub.Sent())-1].Event
	if last.Name != "Echo" || last.Input != `[1,2]` {
		t.Fatalf("restart start %+v", last)
	}
	setStatus(hub, "r1", sp.StatusFailed, "")
	p = checkStatus(t, do(t, "POST", s.base+"/instances/r1/restart?restartWithNewInstanceId=false", nil))
	if p.ID != "r1" {
		t.Fatalf("restart under the same ID gave %q", p.ID)
	}
}

func TestPurge(t *testing.T) {
	s, hub := fake(t)
	expect(t, do(t, "DELETE", s.base+"/instances/nope", nil), 404, "")
	checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/p1", nil))
	r := do(t, "DELETE", s.base+"/instances/p1", nil)
	expect(t, r, 412, "-")
	messageOf(t, r)
	setStatus(hub, "p1", sp.StatusCompleted, "")
	expect(t, do(t, "DELETE", s.base+"/instances/p1", nil), 200, `{"instancesDeleted":1}`)
	expect(t, do(t, "GET", s.base+"/instances/p1", nil), 404, "")

	// By filter: terminal instances only; 404 when nothing matched.
	for i := range 5 {
		id := fmt.Sprintf("f%d", i)
		checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/"+id, nil))
		switch i {
		case 0, 1:
			setStatus(hub, id, sp.StatusCompleted, "")
		case 2:
			setStatus(hub, id, sp.StatusFailed, "")
		}
	}
	from := "createdTimeFrom=" + url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	expect(t, do(t, "DELETE", s.base+"/instances?"+from+"&runtimeStatus=Failed", nil), 200, `{"instancesDeleted":1}`)
	expect(t, do(t, "DELETE", s.base+"/instances/?"+from, nil), 200, `{"instancesDeleted":2}`)
	expect(t, do(t, "DELETE", s.base+"/instances?"+from, nil), 404, "")
	future := "createdTimeFrom=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	setStatus(hub, "f3", sp.StatusCompleted, "")
	expect(t, do(t, "DELETE", s.base+"/instances?"+future, nil), 404, "")
}

func TestListPaging(t *testing.T) {
	s, hub := fake(t)
	for i := range 250 {
		id := fmt.Sprintf("inst-%03d", i)
		checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/"+id, []byte(fmt.Sprint(i))))
		if i%2 == 0 {
			setStatus(hub, id, sp.StatusCompleted, "")
		}
	}
	seen := map[string]bool{}
	token := ""
	var sizes []int
	for {
		r := do(t, "GET", s.base+"/instances?top=100", nil, "x-ms-continuation-token", token)
		expect(t, r, 200, "-")
		vals, ok := r.header[http.CanonicalHeaderKey("x-ms-continuation-token")]
		if !ok || len(vals) != 1 {
			t.Fatalf("x-ms-continuation-token header missing: %v", r.header)
		}
		var page []struct {
			InstanceID string `json:"instanceId"`
			Input      *int   `json:"input"`
		}
		r.json(t, &page)
		sizes = append(sizes, len(page))
		for _, p := range page {
			if seen[p.InstanceID] || p.Input == nil {
				t.Fatalf("duplicate or input-less instance %q", p.InstanceID)
			}
			seen[p.InstanceID] = true
		}
		token = vals[0]
		if token == "" {
			break
		}
		if len(sizes) > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 250 || fmt.Sprint(sizes) != "[100 100 50]" {
		t.Fatalf("saw %d instances in pages %v", len(seen), sizes)
	}

	// Filters.
	count := func(q string) int {
		r := do(t, "GET", s.base+"/instances?top=1000&"+q, nil)
		expect(t, r, 200, "-")
		var page []map[string]any
		r.json(t, &page)
		return len(page)
	}
	hour := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	for q, want := range map[string]int{
		"runtimeStatus=Completed":                 125,
		"runtimeStatus=Completed,Pending":         250,
		"runtimeStatus=Completed&runtimeStatus=1": 125,
		"instanceIdPrefix=inst-00":                10,
		"INSTANCEIDPREFIX=inst-1":                 100,
		"createdTimeFrom=" + hour:                 0,
		"createdTimeTo=" + hour:                   250,
	} {
		if got := count(q); got != want {
			t.Errorf("%s: %d instances, want %d", q, got, want)
		}
	}
	r := do(t, "GET", s.base+"/instances?instanceIdPrefix=inst-000&showInput=false", nil)
	if !strings.Contains(string(r.body), `"input":null`) || strings.Contains(string(r.body), "historyEvents") {
		t.Fatalf("showInput=false: %s", r.body)
	}
}

func TestLargeInputRoundTrip(t *testing.T) {
	s, _ := fake(t)
	big := largeJSON(10 << 20)
	p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo", big))
	r := do(t, "GET", p.StatusQueryGetURI, nil)
	expect(t, r, 202, "-")
	i := bytes.Index(r.body, []byte(`"input":`))
	if i < 0 || !bytes.HasPrefix(r.body[i+len(`"input":`):], big) {
		t.Fatalf("the 10 MB input did not come back byte for byte")
	}
}

// largeJSON returns a JSON array of about n bytes.
func largeJSON(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`["`)
	chunk := strings.Repeat("0123456789abcdef", 64)
	for b.Len() < n {
		b.WriteString(chunk)
		b.WriteString(`","`)
	}
	b.WriteString(`end"]`)
	return b.Bytes()
}

func TestSingletonRace(t *testing.T) {
	s, _ := fake(t)
	raceSingleton(t, s, "Echo")
}

// raceSingleton sends 100 concurrent singleton starts for one ID through
// the HttpStartSingle starter: exactly one 202, 99 409.
func raceSingleton(t *testing.T, s *server, orchestrator string) {
	t.Helper()
	const n = 100
	id := "singleton " + fmt.Sprint(time.Now().UnixNano())
	var wg sync.WaitGroup
	results := make([]*response, n)
	start := make(chan struct{})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", s.URL+"/api/orchestrators/"+orchestrator+"/"+url.PathEscape(id), strings.NewReader(`"race"`))
			resp, err := client.Do(req)
			if err != nil {
				results[i] = &response{code: -1, body: []byte(err.Error())}
				return
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			results[i] = &response{code: resp.StatusCode, header: resp.Header, body: b.Bytes()}
		}()
	}
	close(start)
	wg.Wait()
	accepted, conflicts := 0, 0
	want409 := errorBody(fmt.Sprintf("An instance with ID '%s' already exists.", id)) + "\n"
	for _, r := range results {
		switch r.code {
		case 202:
			accepted++
		case 409:
			conflicts++
			if string(r.body) != want409 {
				t.Fatalf("409 body %q, want %q", r.body, want409)
			}
		default:
			t.Fatalf("unexpected response %d %s", r.code, r.body)
		}
	}
	if accepted != 1 || conflicts != n-1 {
		t.Fatalf("%d accepted, %d conflicts; want 1 and %d", accepted, conflicts, n-1)
	}
}

func TestLoopbackMount(t *testing.T) {
	hub := fakehub.New("TestHub")
	client := durableclient.New(durableclient.Options{Hub: hub, Code: "secret"})
	mux := http.NewServeMux()
	mux.Handle("/durabletask/", http.StripPrefix("/durabletask", mgmtapi.New(mgmtapi.Options{Client: mgmtapi.Hubs(client), BasePath: "/durabletask/"})))
	srv := newTestServer(t, mux)
	p := checkStatus(t, do(t, "POST", srv+"/durabletask/orchestrators/Anything", nil))
	want := srv + "/durabletask/instances/" + p.ID + "?taskHub=TestHub&connection=Storage&code=secret"
	if p.StatusQueryGetURI != want {
		t.Fatalf("statusQueryGetUri %q, want %q", p.StatusQueryGetURI, want)
	}
	expect(t, do(t, "GET", p.StatusQueryGetURI, nil), 202, "-")
}

func TestMultipleHubs(t *testing.T) {
	a := durableclient.New(durableclient.Options{Hub: fakehub.New("HubA")})
	b := durableclient.New(durableclient.Options{Hub: fakehub.New("HubB"), ConnectionName: "Other"})
	mux := http.NewServeMux()
	mux.Handle(webhookPath+"/", http.StripPrefix(webhookPath, mgmtapi.New(mgmtapi.Options{Client: mgmtapi.Hubs(a, b)})))
	base := newTestServer(t, mux) + webhookPath
	p := checkStatus(t, do(t, "POST", base+"/orchestrators/X/one?taskhub=hubb", nil))
	if !strings.HasSuffix(p.StatusQueryGetURI, "?taskHub=HubB&connection=Other") {
		t.Fatalf("statusQueryGetUri %q", p.StatusQueryGetURI)
	}
	expect(t, do(t, "GET", p.StatusQueryGetURI, nil), 202, "-")
	expect(t, do(t, "GET", base+"/instances/one", nil), 404, "") // default hub A
	expect(t, do(t, "GET", base+"/instances/one?taskHub=HubB&connection=storage", nil), 404, "-")
}

func TestWaitOnStart(t *testing.T) {
	s, hub := fake(t)
	go func() {
		// Complete the instance while the request waits.
		for range 500 {
			if _, err := hub.GetOrchestrationState(t.Context(), "w1", false); err == nil {
				setStatus(hub, "w1", sp.StatusCompleted, `{"done":true}`)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	r := do(t, "POST", s.base+"/orchestrators/Echo/w1?timeout=30&pollingInterval=0.01", nil)
	expect(t, r, 200, `{"done":true}`)

	// Timed out: the check-status payload.
	checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/w2?timeout=0.05&pollingInterval=0.01", nil))
	// Failed: the status object.
	go func() {
		for range 500 {
			if _, err := hub.GetOrchestrationState(t.Context(), "w3", false); err == nil {
				setStatus(hub, "w3", sp.StatusFailed, `"boom"`)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	r = do(t, "POST", s.base+"/orchestrators/Echo/w3?timeout=30&pollingInterval=0.01&returnInternalServerErrorOnFailure=true", nil)
	expect(t, r, 500, "-")
	if !strings.Contains(string(r.body), `"runtimeStatus":"Failed"`) {
		t.Fatalf("body %s", r.body)
	}
}

func TestBodyLimit(t *testing.T) {
	client := durableclient.New(durableclient.Options{Hub: fakehub.New("TestHub")})
	h := mgmtapi.New(mgmtapi.Options{Client: mgmtapi.Hubs(client), MaxBodyBytes: 1024})
	base := newTestServer(t, http.StripPrefix(webhookPath, h)) + webhookPath
	r := do(t, "POST", base+"/orchestrators/Echo", largeJSON(4096))
	expect(t, r, http.StatusRequestEntityTooLarge, "-")
	if m := messageOf(t, r); !strings.Contains(m, "1024") {
		t.Fatalf("Message %q", m)
	}
	checkStatus(t, do(t, "POST", base+"/orchestrators/Echo", []byte(`"`+strings.Repeat("x", 1000)+`"`)))

	// Past the first MiB (where the body reader reserves the announced
	// length) the limit holds too, and a body just under it is accepted.
	h = mgmtapi.New(mgmtapi.Options{Client: mgmtapi.Hubs(client), MaxBodyBytes: 3 << 20})
	base = newTestServer(t, http.StripPrefix(webhookPath, h)) + webhookPath
	expect(t, do(t, "POST", base+"/orchestrators/Echo", largeJSON(4<<20)), http.StatusRequestEntityTooLarge, "-")
	checkStatus(t, do(t, "POST", base+"/orchestrators/Echo", largeJSON(2<<20)))
}

func TestStatusLocationBehindProxy(t *testing.T) {
	client := durableclient.New(durableclient.Options{Hub: fakehub.New("TestHub"), UseForwardedHost: true})
	h := mgmtapi.New(mgmtapi.Options{Client: mgmtapi.Hubs(client)})
	base := newTestServer(t, http.StripPrefix(webhookPath, h)) + webhookPath
	fwd := []string{"X-Forwarded-Host", "api.example.com", "X-Forwarded-Proto", "https"}
	p := checkStatus(t, do(t, "POST", base+"/orchestrators/Echo/px", nil, fwd...))
	want := "https://api.example.com" + webhookPath + "/instances/px?taskHub=TestHub&connection=Storage"
	if p.StatusQueryGetURI != want {
		t.Fatalf("statusQueryGetUri %q, want %q", p.StatusQueryGetURI, want)
	}
	r := do(t, "GET", base+"/instances/px?taskHub=TestHub", nil, fwd...)
	expect(t, r, 202, "-")
	if got := r.header.Get("Location"); got != "https://api.example.com"+webhookPath+"/instances/px?taskHub=TestHub" {
		t.Fatalf("Location %q", got)
	}
}
