package mgmtapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// sampleRegistry registers the sample app's orchestrators and activities.
func sampleRegistry() engine.Registry { return engine.NewRegistry(sampleapp.Handlers()) }

// runHub starts hub and an engine worker with the sample app on it, and
// stops both when the test ends.
func runHub(t *testing.T, hub sp.TaskHub) {
	t.Helper()
	ctx := context.Background()
	if err := hub.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w := engine.NewWorker(hub, sampleRegistry(), engine.Options{MaxConcurrentOrchestrations: 4, MaxConcurrentActivities: 4})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Errorf("stopping the worker: %v", err)
		}
		if err := hub.Stop(ctx); err != nil {
			t.Errorf("stopping the hub: %v", err)
		}
	})
}

// statusBody is the decoded status JSON.
type statusBody = dfwire.Status

// poll GETs url like Durable Functions tools do (following 202s) until the
// status satisfies done, and returns the last response and its status. It
// fails the test after a generous bound; that bound is not a timing
// assertion, only a guard against hanging.
func poll(t *testing.T, u string, done func(*statusBody) bool) (*response, *statusBody) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := do(t, "GET", u, nil)
		if r.code != 200 && r.code != 202 && r.code != 500 {
			t.Fatalf("GET %s: %d %s", u, r.code, truncate(r.body))
		}
		var st statusBody
		r.json(t, &st)
		if done(&st) {
			return r, &st
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s stuck in %s", st.InstanceID, st.RuntimeStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func is(status string) func(*statusBody) bool {
	return func(s *statusBody) bool { return s.RuntimeStatus == status }
}

func terminal(s *statusBody) bool {
	switch s.RuntimeStatus {
	case "Completed", "Failed", "Terminated", "Canceled":
		return true
	}
	return false
}

func TestMemoryEndToEnd(t *testing.T) {
	hub := memory.New(memory.Options{Name: "TestHub"})
	runHub(t, hub)
	endToEnd(t, newServer(t, hub, nil))
}

// endToEnd drives the sample app through the starters and the management
// API against a running engine.
func endToEnd(t *testing.T, s *server) {
	t.Run("HelloSequence via HttpStart", func(t *testing.T) {
		p := checkStatus(t, do(t, "POST", s.URL+"/api/orchestrators/HelloSequence", nil))
		r, st := poll(t, p.StatusQueryGetURI, terminal)
		expect(t, r, 200, "-")
		if st.RuntimeStatus != "Completed" || string(st.Output) != `["Hello Tokyo!","Hello Seattle!","Hello London!"]` || r.header.Get("Location") != "" {
			t.Fatalf("status %s output %s", st.RuntimeStatus, st.Output)
		}
		r = do(t, "GET", p.StatusQueryGetURI+"&showHistory=true&showHistoryOutput=true", nil)
		var hst statusBody
		r.json(t, &hst)
		var completed int
		for _, h := range hst.HistoryEvents {
			var ev struct{ EventType, FunctionName string }
			_ = json.Unmarshal(h, &ev)
			if ev.EventType == "TaskCompleted" && ev.FunctionName == "SayHello" {
				completed++
			}
			if ev.EventType == "OrchestratorStarted" || ev.EventType == "TaskScheduled" {
				t.Errorf("history shows %s: %s", ev.EventType, h)
			}
		}
		if completed != 3 || !strings.Contains(string(r.body), `"Result":"Hello Tokyo!"`) {
			t.Fatalf("history %s", truncate(r.body))
		}
		// Restart with a new ID runs it again with the same input.
		rp := checkStatus(t, do(t, "POST", p.RestartPostURI, nil))
		if rp.ID == p.ID {
			t.Fatal("restart kept the ID")
		}
		_, st = poll(t, rp.StatusQueryGetURI, terminal)
		if st.RuntimeStatus != "Completed" || st.Name != "HelloSequence" {
			t.Fatalf("restarted instance %s", st.RuntimeStatus)
		}
	})

	t.Run("start and wait", func(t *testing.T) {
		r := do(t, "POST", s.base+"/orchestrators/ParentChild?timeout=60&pollingInterval=0.05", nil)
		expect(t, r, 200, `{"child":["Hello Tokyo!","Hello Seattle!","Hello London!"]}`)
		r = do(t, "POST", s.base+"/orchestrators/FanOutFanIn?timeout=60&pollingInterval=0.05", []byte(`10`), "Content-Type", "application/json")
		expect(t, r, 200, `55`)
	})

	t.Run("ID with spaces via HttpStartSingle", func(t *testing.T) {
		id := "order 42 for " + fmt.Sprint(time.Now().UnixNano())
		p := checkStatus(t, do(t, "POST", s.URL+"/api/orchestrators/HelloSequence/"+url.PathEscape(id), nil))
		if p.ID != id || !strings.Contains(p.StatusQueryGetURI, "order%2042%20for%20") {
			t.Fatalf("payload %+v", p)
		}
		_, st := poll(t, p.StatusQueryGetURI, terminal)
		if st.InstanceID != id || st.RuntimeStatus != "Completed" {
			t.Fatalf("status %+v", st)
		}
		// A completed singleton ID can be started again.
		checkStatus(t, do(t, "POST", s.URL+"/api/orchestrators/HelloSequence/"+url.PathEscape(id), nil))
	})

	t.Run("raise event, suspend and resume", func(t *testing.T) {
		p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/WaitForApproval", nil))
		poll(t, p.StatusQueryGetURI, is("Running"))
		expect(t, do(t, "POST", strings.Replace(p.SuspendPostURI, "{text}", "hold+on", 1), nil), 202, "")
		poll(t, p.StatusQueryGetURI, is("Suspended"))
		send := strings.Replace(p.SendEventPostURI, "{eventName}", "Approval", 1)
		expect(t, do(t, "POST", send, []byte(`{"approver":"ana"}`), "Content-Type", "application/json"), 202, "")
		expect(t, do(t, "POST", strings.Replace(p.ResumePostURI, "{text}", "go", 1), nil), 202, "")
		_, st := poll(t, p.StatusQueryGetURI, terminal)
		if st.RuntimeStatus != "Completed" || string(st.Output) != `{"approver":"ana"}` {
			t.Fatalf("status %s output %s", st.RuntimeStatus, st.Output)
		}
		expect(t, do(t, "POST", send, []byte(`1`), "Content-Type", "application/json"), 410, "")
	})

	t.Run("terminate and purge", func(t *testing.T) {
		p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/WaitForApproval", nil))
		poll(t, p.StatusQueryGetURI, is("Running"))
		expect(t, do(t, "DELETE", p.PurgeHistoryDeleteURI, nil), 412, "-")
		expect(t, do(t, "POST", strings.Replace(p.TerminatePostURI, "{text}", "no+longer+needed", 1), nil), 202, "")
		_, st := poll(t, p.StatusQueryGetURI, terminal)
		if st.RuntimeStatus != "Terminated" || string(st.Output) != `"no longer needed"` {
			t.Fatalf("status %s output %s", st.RuntimeStatus, st.Output)
		}
		expect(t, do(t, "POST", strings.Replace(p.TerminatePostURI, "{text}", "again", 1), nil), 410, "")
		expect(t, do(t, "DELETE", p.PurgeHistoryDeleteURI, nil), 200, `{"instancesDeleted":1}`)
		expect(t, do(t, "GET", p.StatusQueryGetURI, nil), 404, "")
	})

	t.Run("failure", func(t *testing.T) {
		p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/FailAlways", []byte(`null`)))
		r, st := poll(t, p.StatusQueryGetURI, terminal)
		expect(t, r, 200, "-")
		if st.RuntimeStatus != "Failed" || !strings.Contains(string(st.Output), "boom") {
			t.Fatalf("status %s output %s", st.RuntimeStatus, st.Output)
		}
		expect(t, do(t, "GET", p.StatusQueryGetURI+"&returnInternalServerErrorOnFailure=true", nil), 500, "-")
		expect(t, do(t, "POST", s.base+"/instances/"+p.ID+"/rewind?reason=retry", nil), 202, "")
	})

	t.Run("singleton race", func(t *testing.T) {
		raceSingleton(t, s, "WaitForApproval")
	})

	t.Run("10 MB input round-trip", func(t *testing.T) {
		big := largeJSON(10 << 20)
		p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo", big))
		r, st := poll(t, p.StatusQueryGetURI, terminal)
		expect(t, r, 200, "-")
		if st.RuntimeStatus != "Completed" || !bytes.Equal(st.Input, big) || !bytes.Equal(st.Output, big) {
			t.Fatalf("status %s; input %d bytes, output %d bytes, sent %d", st.RuntimeStatus, len(st.Input), len(st.Output), len(big))
		}
	})

	t.Run("bad input gets 400 from the provider", func(t *testing.T) {
		forged := base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"a\u0001b","rk":""}`))
		extra := base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"a","rk":"","sql":"drop"}`))
		for _, tc := range []struct {
			name, method, path, token, msg string
		}{
			{"garbage continuation token", "GET", "/instances", "!!not a token!!", "x-ms-continuation-token"},
			{"forged continuation token", "GET", "/instances", forged, "x-ms-continuation-token"},
			{"continuation token with unknown fields", "GET", "/instances", extra, "x-ms-continuation-token"},
			{"10 KB continuation token", "GET", "/instances", strings.Repeat("A", 10<<10), "x-ms-continuation-token"},
			{"ID ..", "POST", "/orchestrators/Echo/%2E%2E", "", "relative path segment"},
			{"ID .", "POST", "/orchestrators/Echo/%2E", "", "relative path segment"},
			{"ID with invalid UTF-8", "POST", "/orchestrators/Echo/a%FFb", "", "not valid UTF-8"},
			{"status of an invalid UTF-8 ID", "GET", "/instances/a%FEb", "", "not valid UTF-8"},
			{"raise on an invalid UTF-8 ID", "POST", "/instances/a%FEb/raiseEvent/E", "", "not valid UTF-8"},
		} {
			var headers []string
			if tc.token != "" {
				headers = []string{"x-ms-continuation-token", tc.token}
			}
			r := do(t, tc.method, s.base+tc.path, nil, headers...)
			expect(t, r, 400, "-")
			if m := messageOf(t, r); !strings.Contains(m, tc.msg) {
				t.Errorf("%s: message %q lacks %q", tc.name, m, tc.msg)
			}
		}
	})

	t.Run("paging 250 instances", func(t *testing.T) {
		prefix := fmt.Sprintf("page-%d-", time.Now().UnixNano())
		for i := range 250 {
			checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/"+prefix+fmt.Sprintf("%03d", i), []byte(fmt.Sprint(i))))
		}
		seen := map[string]bool{}
		token, pages := "", 0
		for {
			r := do(t, "GET", s.base+"/instances?top=100&instanceIdPrefix="+prefix, nil, "x-ms-continuation-token", token)
			expect(t, r, 200, "-")
			var page []statusBody
			r.json(t, &page)
			if len(page) > 100 {
				t.Fatalf("page of %d instances with top=100", len(page))
			}
			for _, st := range page {
				if seen[st.InstanceID] || !strings.HasPrefix(st.InstanceID, prefix) {
					t.Fatalf("unexpected or duplicate instance %q", st.InstanceID)
				}
				seen[st.InstanceID] = true
			}
			pages++
			vals, ok := r.header[http.CanonicalHeaderKey("x-ms-continuation-token")]
			if !ok {
				t.Fatal("no x-ms-continuation-token header")
			}
			if token = vals[0]; token == "" {
				break
			}
			if pages > 50 {
				t.Fatal("paging does not end")
			}
		}
		if len(seen) != 250 || pages < 3 {
			t.Fatalf("%d instances in %d pages", len(seen), pages)
		}
		// Purge them by filter once they completed.
		for id := range seen {
			poll(t, s.base+"/instances/"+id, terminal)
		}
		from := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		r := do(t, "DELETE", s.base+"/instances?createdTimeFrom="+from+"&runtimeStatus=Completed", nil)
		expect(t, r, 200, "-")
		var res struct{ InstancesDeleted int }
		r.json(t, &res)
		if res.InstancesDeleted < 250 {
			t.Fatalf("purged %d instances, want at least 250", res.InstancesDeleted)
		}
	})
}
