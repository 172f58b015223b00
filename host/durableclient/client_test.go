package durableclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/durableclient/fakehub"
	sp "github.com/funchost/funchost/storageprovider"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

var fixedNow = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

func newClient(t *testing.T, mod ...func(*durableclient.Options)) (*durableclient.Client, *fakehub.Hub) {
	t.Helper()
	hub := fakehub.New("TestHub")
	o := durableclient.Options{
		Hub:            hub,
		IsOrchestrator: func(n string) bool { return n == "Hello" || n == "Echo" },
		Now:            func() time.Time { return fixedNow },
	}
	for _, m := range mod {
		m(&o)
	}
	return durableclient.New(o), hub
}

func TestStartNewMessage(t *testing.T) {
	c, hub := newClient(t)
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	id, err := c.StartNew(context.Background(), "Hello", map[string]int{"n": 1}, bindings.WithVersion("v2"), bindings.WithStartAt(at))
	if err != nil {
		t.Fatal(err)
	}
	if !hex32.MatchString(id) {
		t.Fatalf("generated ID %q is not 32 lower-case hex characters", id)
	}
	sent := hub.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d messages, want 1", len(sent))
	}
	m := sent[0]
	ev := m.Event
	if ev.EventType != sp.EventExecutionStarted || ev.EventID != -1 || ev.Name != "Hello" || ev.Version != "v2" || ev.Input != `{"n":1}` {
		t.Errorf("start event = %+v", ev)
	}
	if !ev.Timestamp.Equal(fixedNow.Truncate(100 * time.Nanosecond)) {
		t.Errorf("timestamp %v not truncated to 100ns of %v", ev.Timestamp, fixedNow)
	}
	if ev.ScheduledStartTime == nil || !ev.ScheduledStartTime.Equal(at) {
		t.Errorf("ScheduledStartTime = %v, want %v", ev.ScheduledStartTime, at)
	}
	if m.Target.InstanceID != id || !hex32.MatchString(m.Target.ExecutionID) || ev.OrchestrationInstance == nil || *ev.OrchestrationInstance != m.Target {
		t.Errorf("target = %+v, instance = %+v", m.Target, ev.OrchestrationInstance)
	}
}

func TestStartNewInputs(t *testing.T) {
	tests := []struct {
		name  string
		input any
		want  string
	}{
		{"nil", nil, ""},
		{"empty raw", json.RawMessage(nil), ""},
		{"raw null", json.RawMessage("null"), ""},
		{"raw kept byte for byte", json.RawMessage(`{ "a" : 1 }`), `{ "a" : 1 }`},
		{"string", "x<y&z", `"x<y&z"`},
		{"number", 42, `42`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, hub := newClient(t)
			if _, err := c.StartNew(context.Background(), "Echo", tt.input); err != nil {
				t.Fatal(err)
			}
			got := hub.Sent()[0].Event.Input
			if tt.name == "string" {
				// json.Marshal escapes <, > and &; the value must decode back.
				var s string
				if err := json.Unmarshal([]byte(got), &s); err != nil || s != "x<y&z" {
					t.Fatalf("input %q does not decode to the string", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("stored input %q, want %q", got, tt.want)
			}
		})
	}
	c, _ := newClient(t)
	if _, err := c.StartNew(context.Background(), "Echo", json.RawMessage("{bad")); err == nil {
		t.Error("invalid raw JSON input was accepted")
	}
}

func TestStartNewErrors(t *testing.T) {
	c, hub := newClient(t)
	ctx := context.Background()
	tests := []struct {
		name, orch, id string
		want           error
	}{
		{"unknown orchestrator", "Nope", "", bindings.ErrUnknownOrchestrator},
		{"empty name", "", "", bindings.ErrUnknownOrchestrator},
		{"slash", "Hello", "a/b", bindings.ErrInvalidInstanceID},
		{"at sign", "Hello", "@x", bindings.ErrInvalidInstanceID},
		{"too long", "Hello", strings.Repeat("a", 257), bindings.ErrInvalidInstanceID},
		{"control", "Hello", "a\nb", bindings.ErrInvalidInstanceID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.StartNew(ctx, tt.orch, nil, bindings.WithInstanceID(tt.id))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if n := len(hub.Sent()); n != 0 {
		t.Fatalf("rejected starts sent %d messages", n)
	}

	// Existing non-terminal ID: ErrInstanceExists; terminal: a new start.
	if _, err := c.StartNew(ctx, "Hello", nil, bindings.WithInstanceID("single")); err != nil {
		t.Fatal(err)
	}
	_, err := c.StartNew(ctx, "Hello", nil, bindings.WithInstanceID("single"))
	if !errors.Is(err, sp.ErrInstanceExists) || !errors.Is(err, bindings.ErrInstanceExists) || !strings.Contains(err.Error(), "single") {
		t.Fatalf("second start: err = %v, want ErrInstanceExists naming the ID", err)
	}
	hub.SetState("single", func(s *sp.OrchestrationState) { s.RuntimeStatus = sp.StatusCompleted })
	if id, err := c.StartNew(ctx, "Hello", nil, bindings.WithInstanceID("single")); err != nil || id != "single" {
		t.Fatalf("restart of a completed ID: %q, %v", id, err)
	}
}

func TestGetStatus(t *testing.T) {
	c, hub := newClient(t)
	ctx := context.Background()
	if _, err := c.GetStatus(ctx, "missing", bindings.StatusOptions{}); !errors.Is(err, sp.ErrInstanceNotFound) || !errors.Is(err, bindings.ErrInstanceNotFound) {
		t.Fatalf("missing instance: err = %v", err)
	}
	id, _ := c.StartNew(ctx, "Hello", "in")
	hub.SetState(id, func(s *sp.OrchestrationState) {
		s.RuntimeStatus = sp.StatusCompleted
		s.Output = `["a"]`
		s.CustomStatus = "not json"
	})
	st, err := c.GetStatus(ctx, id, bindings.StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "Hello" || st.InstanceID != id || st.RuntimeStatus != bindings.StatusCompleted ||
		string(st.Input) != `"in"` || string(st.Output) != `["a"]` || string(st.CustomStatus) != `"not json"` {
		t.Errorf("status = %+v (input %s, output %s, custom %s)", st, st.Input, st.Output, st.CustomStatus)
	}
	st, _ = c.GetStatus(ctx, id, bindings.StatusOptions{HideInput: true})
	if st.Input != nil {
		t.Errorf("HideInput left input %s", st.Input)
	}
}

func TestControlOperations(t *testing.T) {
	ctx := context.Background()
	type op struct {
		name string
		do   func(c *durableclient.Client, id string) error
		ev   sp.EventType
	}
	ops := []op{
		{"raise", func(c *durableclient.Client, id string) error {
			return c.RaiseEvent(ctx, id, "Approval", json.RawMessage(`{"ok":true}`))
		}, sp.EventEventRaised},
		{"terminate", func(c *durableclient.Client, id string) error { return c.Terminate(ctx, id, "enough") }, sp.EventExecutionTerminated},
		{"suspend", func(c *durableclient.Client, id string) error { return c.Suspend(ctx, id, "pause") }, sp.EventExecutionSuspended},
		{"resume", func(c *durableclient.Client, id string) error { return c.Resume(ctx, id, "go") }, sp.EventExecutionResumed},
		{"rewind", func(c *durableclient.Client, id string) error { return c.Rewind(ctx, id, "again") }, sp.EventExecutionRewound},
	}
	statuses := []sp.OrchestrationStatus{sp.StatusPending, sp.StatusRunning, sp.StatusSuspended, sp.StatusContinuedAsNew,
		sp.StatusCompleted, sp.StatusFailed, sp.StatusTerminated, sp.StatusCanceled}
	for _, o := range ops {
		t.Run(o.name+"/missing", func(t *testing.T) {
			c, _ := newClient(t)
			if err := o.do(c, "nope"); !errors.Is(err, sp.ErrInstanceNotFound) || !errors.Is(err, bindings.ErrInstanceNotFound) {
				t.Fatalf("err = %v, want ErrInstanceNotFound", err)
			}
		})
		for _, s := range statuses {
			t.Run(o.name+"/"+s.String(), func(t *testing.T) {
				c, hub := newClient(t)
				id, _ := c.StartNew(ctx, "Hello", nil)
				hub.SetState(id, func(st *sp.OrchestrationState) { st.RuntimeStatus = s })
				err := o.do(c, id)
				var want error
				switch {
				case o.name == "rewind" && s != sp.StatusFailed:
					want = bindings.ErrInstanceNotFailed
				case o.name != "rewind" && s.IsTerminal():
					want = bindings.ErrInstanceNotRunning
				}
				sent := hub.Sent()
				if want != nil {
					if !errors.Is(err, want) || !strings.Contains(err.Error(), id) {
						t.Fatalf("err = %v, want %v naming the ID", err, want)
					}
					if len(sent) != 1 {
						t.Fatalf("a refused operation sent a message")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				m := sent[len(sent)-1]
				if m.Event.EventType != o.ev || m.Target.InstanceID != id || m.Target.ExecutionID != "" || m.Event.EventID != -1 {
					t.Fatalf("message = %+v target %+v", m.Event, m.Target)
				}
				switch o.name {
				case "raise":
					if m.Event.Name != "Approval" || m.Event.Input != `{"ok":true}` {
						t.Errorf("event = %+v", m.Event)
					}
				case "terminate":
					if m.Event.Input != `"enough"` {
						t.Errorf("terminate reason = %q, want a JSON string", m.Event.Input)
					}
				default:
					if m.Event.Reason == "" {
						t.Errorf("reason missing in %+v", m.Event)
					}
				}
			})
		}
	}
}

func TestRestart(t *testing.T) {
	ctx := context.Background()
	c, hub := newClient(t)
	if _, err := c.Restart(ctx, "nope", true); !errors.Is(err, sp.ErrInstanceNotFound) {
		t.Fatalf("restart of a missing instance: %v", err)
	}
	id, _ := c.StartNew(ctx, "Hello", json.RawMessage(`{"x":1}`), bindings.WithInstanceID("orig"), bindings.WithVersion("3"))
	if _, err := c.Restart(ctx, id, false); !errors.Is(err, sp.ErrInstanceExists) {
		t.Fatalf("restart of a running instance under its ID: %v", err)
	}
	newID, err := c.Restart(ctx, id, true)
	if err != nil || !hex32.MatchString(newID) {
		t.Fatalf("restart with new ID: %q, %v", newID, err)
	}
	ev := hub.Sent()[len(hub.Sent())-1].Event
	if ev.Name != "Hello" || ev.Input != `{"x":1}` || ev.Version != "3" || ev.OrchestrationInstance.InstanceID != newID {
		t.Fatalf("restart start event = %+v", ev)
	}
	hub.SetState(id, func(s *sp.OrchestrationState) { s.RuntimeStatus = sp.StatusFailed })
	if got, err := c.Restart(ctx, id, false); err != nil || got != id {
		t.Fatalf("restart of a failed instance under its ID: %q, %v", got, err)
	}
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	c, hub := newClient(t)
	if _, err := c.PurgeInstance(ctx, "nope"); !errors.Is(err, sp.ErrInstanceNotFound) {
		t.Fatalf("purge of a missing instance: %v", err)
	}
	id, _ := c.StartNew(ctx, "Hello", nil)
	if _, err := c.PurgeInstance(ctx, id); !errors.Is(err, bindings.ErrInstanceNotTerminal) {
		t.Fatalf("purge of a pending instance: %v", err)
	}
	hub.SetState(id, func(s *sp.OrchestrationState) { s.RuntimeStatus = sp.StatusTerminated })
	if n, err := c.PurgeInstance(ctx, id); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if _, err := c.GetStatus(ctx, id, bindings.StatusOptions{}); !errors.Is(err, sp.ErrInstanceNotFound) {
		t.Fatalf("purged instance still there: %v", err)
	}
}

func TestListInstancesPaging(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t)
	for range 25 {
		if _, err := c.StartNew(ctx, "Hello", 1); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	q := bindings.InstanceQuery{PageSize: 10}
	pages := 0
	for {
		p, err := c.ListInstances(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range p.Instances {
			if s.Input != nil {
				t.Fatalf("input shown without ShowInput")
			}
			seen[s.InstanceID] = true
		}
		if p.ContinuationToken == "" {
			break
		}
		q.ContinuationToken = p.ContinuationToken
	}
	if len(seen) != 25 || pages != 3 {
		t.Fatalf("saw %d instances in %d pages, want 25 in 3", len(seen), pages)
	}
}

func TestCheckStatusResponse(t *testing.T) {
	tests := []struct {
		name      string
		opts      func(*durableclient.Options)
		target    string
		headers   map[string]string
		wantBase  string
		wantQuery string
	}{
		{
			name:      "plain",
			target:    "http://localhost:7071/api/orchestrators/Hello",
			wantBase:  "http://localhost:7071/runtime/webhooks/durabletask",
			wantQuery: "taskHub=TestHub&connection=Storage",
		},
		{
			name:      "key and connection",
			opts:      func(o *durableclient.Options) { o.Code = "k/ey=="; o.ConnectionName = "MyStorage" },
			target:    "http://example.com:8080/api/x",
			wantBase:  "http://example.com:8080/runtime/webhooks/durabletask",
			wantQuery: "taskHub=TestHub&connection=MyStorage&code=k%2Fey%3D%3D",
		},
		{
			name:      "forwarded headers ignored by default",
			target:    "http://internal:7071/api/x",
			headers:   map[string]string{"X-Forwarded-Host": "public.example.com", "X-Forwarded-Proto": "https"},
			wantBase:  "http://internal:7071/runtime/webhooks/durabletask",
			wantQuery: "taskHub=TestHub&connection=Storage",
		},
		{
			name:      "forwarded headers when enabled",
			opts:      func(o *durableclient.Options) { o.UseForwardedHost = true },
			target:    "http://internal:7071/api/x",
			headers:   map[string]string{"X-Forwarded-Host": "public.example.com, proxy2", "X-Forwarded-Proto": "https"},
			wantBase:  "https://public.example.com/runtime/webhooks/durabletask",
			wantQuery: "taskHub=TestHub&connection=Storage",
		},
		{
			name:      "forwarded host alone is not enough",
			opts:      func(o *durableclient.Options) { o.UseForwardedHost = true },
			target:    "http://internal:7071/api/x",
			headers:   map[string]string{"X-Forwarded-Host": "public.example.com"},
			wantBase:  "http://internal:7071/runtime/webhooks/durabletask",
			wantQuery: "taskHub=TestHub&connection=Storage",
		},
		{
			name: "webhook base path",
			opts: func(o *durableclient.Options) {
				o.WebhookBase = "https://x.example/prefix/runtime/webhooks/durabletask/?code=dropped"
			},
			target:    "http://localhost:7071/api/x",
			wantBase:  "http://localhost:7071/prefix/runtime/webhooks/durabletask",
			wantQuery: "taskHub=TestHub&connection=Storage",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []func(*durableclient.Options)
			if tt.opts != nil {
				mods = append(mods, tt.opts)
			}
			c, _ := newClient(t, mods...)
			r := httptest.NewRequest(http.MethodPost, tt.target, nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			if err := c.CreateCheckStatusResponse(w, r, "my id+1"); err != nil {
				t.Fatal(err)
			}
			I := tt.wantBase + "/instances/my%20id+1"
			Q := tt.wantQuery
			want := `{"id":"my id+1",` +
				`"statusQueryGetUri":"` + I + `?` + Q + `",` +
				`"sendEventPostUri":"` + I + `/raiseEvent/{eventName}?` + Q + `",` +
				`"terminatePostUri":"` + I + `/terminate?reason={text}&` + Q + `",` +
				`"purgeHistoryDeleteUri":"` + I + `?` + Q + `",` +
				`"restartPostUri":"` + I + `/restart?` + Q + `",` +
				`"suspendPostUri":"` + I + `/suspend?reason={text}&` + Q + `",` +
				`"resumePostUri":"` + I + `/resume?reason={text}&` + Q + `"}`
			if w.Code != http.StatusAccepted {
				t.Errorf("status %d, want 202", w.Code)
			}
			if got := w.Body.String(); got != want {
				t.Errorf("body\n got %s\nwant %s", got, want)
			}
			if got := w.Header().Get("Location"); got != I+"?"+Q {
				t.Errorf("Location %q", got)
			}
			if w.Header().Get("Retry-After") != "10" || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("headers %v", w.Header())
			}
		})
	}
}

func TestCreateHTTPManagementPayload(t *testing.T) {
	c, _ := newClient(t, func(o *durableclient.Options) {
		o.WebhookBase = "https://app.example.com/runtime/webhooks/durabletask"
		o.Code = "abc"
	})
	p := c.CreateHTTPManagementPayload("x y")
	q := "taskHub=TestHub&connection=Storage&code=abc"
	base := "https://app.example.com/runtime/webhooks/durabletask/instances/x%20y"
	if p.ID != "x y" || p.StatusQueryGetURI != base+"?"+q || p.RewindPostURI != base+"/rewind?reason={text}&"+q {
		t.Fatalf("payload = %+v", p)
	}
}

func TestWaitForCompletion(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		status   sp.OrchestrationStatus
		output   string
		flag     bool
		wantCode int
		wantBody string // prefix
	}{
		{"completed", sp.StatusCompleted, `{"r":1}`, false, 200, `{"r":1}`},
		{"completed null", sp.StatusCompleted, ``, false, 200, `null`},
		{"failed", sp.StatusFailed, `"boom"`, false, 200, `{"name":"Hello","instanceId":"w","runtimeStatus":"Failed"`},
		{"failed with flag", sp.StatusFailed, `"boom"`, true, 500, `{"name":"Hello"`},
		{"terminated", sp.StatusTerminated, `"stop"`, false, 200, `{"name":"Hello","instanceId":"w","runtimeStatus":"Terminated"`},
		{"still running", sp.StatusRunning, ``, false, 202, `{"id":"w","statusQueryGetUri":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, hub := newClient(t)
			if _, err := c.StartNew(ctx, "Hello", nil, bindings.WithInstanceID("w")); err != nil {
				t.Fatal(err)
			}
			hub.SetState("w", func(s *sp.OrchestrationState) { s.RuntimeStatus, s.Output = tt.status, tt.output })
			r := httptest.NewRequest(http.MethodPost, "http://h/api/x", nil)
			w := httptest.NewRecorder()
			err := c.WaitAndRespond(w, r, "w", 30*time.Millisecond, 10*time.Millisecond, durableclient.LinkOptions{ReturnInternalServerErrorOnFailure: tt.flag})
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != tt.wantCode || !strings.HasPrefix(w.Body.String(), tt.wantBody) {
				t.Fatalf("got %d %s, want %d %s…", w.Code, w.Body, tt.wantCode, tt.wantBody)
			}
		})
	}
	t.Run("completes while waiting", func(t *testing.T) {
		c, hub := newClient(t)
		id, _ := c.StartNew(ctx, "Hello", nil)
		go func() {
			time.Sleep(50 * time.Millisecond)
			hub.SetState(id, func(s *sp.OrchestrationState) { s.RuntimeStatus, s.Output = sp.StatusCompleted, `7` })
		}()
		w := httptest.NewRecorder()
		err := c.WaitForCompletionOrCreateCheckStatusResponse(w, httptest.NewRequest("POST", "http://h/", nil), id, 20*time.Second, 10*time.Millisecond)
		if err != nil || w.Code != 200 || w.Body.String() != "7" {
			t.Fatalf("got %d %q %v", w.Code, w.Body, err)
		}
	})
}
