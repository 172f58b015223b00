package host

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// TestRealHostJSONVariants loads host.json files like the Durable
// Functions repository's own: a BOM, a trailing comma, comments and
// unimplemented settings load; a version 1 file stops the host.
func TestRealHostJSONVariants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, hub, err string }{
		{"bom.json", "BomHub", ""},
		{"trailing-comma.json", "CommaHub", ""},
		{"comments.json", "CommentHub", ""},
		{"unimplemented.json", "WarnHub", ""},
		{"v1.json", "", `field "version": is required and must be "2.0"`},
	} {
		dir := t.TempDir()
		copyFile(t, filepath.Join("testdata", "realapps", "hostjson", tc.file), filepath.Join(dir, "host.json"))
		h, err := config.LoadHost(dir, config.NewMapEnv(nil), nil)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.file, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.file, err)
		case h.Durable.HubName != tc.hub:
			t.Errorf("%s: hub %q", tc.file, h.Durable.HubName)
		}
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestActivityPastFunctionTimeoutFailsTheCall: an activity running past
// functionTimeout fails as a task failure the orchestrator sees (so retry
// policies apply), with the host's message.
func TestActivityPastFunctionTimeoutFailsTheCall(t *testing.T) {
	t.Parallel()
	app := NewApp()
	app.Register("Start", bindings.Orchestrator(func(ctx bindings.OrchestrationContext) (any, error) {
		_, err := bindings.CallActivity[string](ctx, "Slow", nil)
		var tf *bindings.TaskFailedError
		if errors.As(err, &tf) {
			return tf.Message, nil
		}
		return "no failure", err
	}))
	app.Register("Slow", bindings.Activity(func(ctx bindings.ActivityContext) (any, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(30 * time.Second):
			return "finished", nil
		}
	}))
	app.Register("HttpStart", httpStarter())
	root := writeApp(t, `{"version":"2.0","functionTimeout":"00:00:01","extensions":{"durableTask":{"storageProvider":{"type":"memory"}}}}`,
		map[string]string{
			"Start":     `{"bindings":[{"name":"context","type":"orchestrationTrigger","direction":"in"}]}`,
			"Slow":      `{"bindings":[{"name":"input","type":"activityTrigger","direction":"in"}]}`,
			"HttpStart": starterJSON,
		})
	h := start(t, app, root, nil)
	out := runToCompletion(t, h.base, "Start")
	if !strings.Contains(out, "Activity function 'Slow' failed: Timeout value of 00:00:01 was exceeded by function: Functions.Slow") {
		t.Fatalf("orchestration output %s", out)
	}
	if !strings.Contains(h.logs.String(), "Timeout value of 00:00:01 exceeded by function 'Functions.Slow'") {
		t.Error("no timeout log line")
	}
}

const starterJSON = `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous","route":"orchestrators/{functionName}"},
	{"name":"$return","type":"http","direction":"out"},{"name":"starter","type":"durableClient","direction":"in"}]}`

// httpStarter starts the orchestrator named by the route and answers 202.
func httpStarter() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := bindings.Client(r).StartNew(r.Context(), bindings.RouteValue(r, "functionName"), nil)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		_ = bindings.Client(r).CreateCheckStatusResponse(w, r, id)
	})
}

// runToCompletion starts an orchestration through httpStarter and returns
// its output JSON once it completed.
func runToCompletion(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/orchestrators/"+name, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var started struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/runtime/webhooks/durabletask/instances/" + started.ID)
		if err == nil {
			var st struct {
				RuntimeStatus string
				Output        json.RawMessage
			}
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if st.RuntimeStatus == "Completed" || st.RuntimeStatus == "Failed" {
				return string(st.Output)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the orchestration did not finish")
	return ""
}

// TestTimerRunsOnOneOfTwoHosts: two hosts of one app on one storage
// account (same host ID) run a timer; each occurrence runs once, on the
// host holding the blob lease.
func TestTimerRunsOnOneOfTwoHosts(t *testing.T) {
	t.Parallel()
	root := writeApp(t, `{"version":"2.0","extensions":{"durableTask":{"storageProvider":{"type":"memory"}}}}`, map[string]string{
		"Tick": `{"bindings":[{"name":"t","type":"timerTrigger","direction":"in","schedule":"* * * * * *","useMonitor":true}]}`,
	})
	env := map[string]string{"AzureWebJobsStorage": azuritetest.ConnectionString(t), "AzureFunctionsWebHost__hostid": "twohosts" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)}
	var mu sync.Mutex
	runs := map[string][]time.Time{}
	mk := func(host string) *App {
		app := NewApp()
		app.Register("Tick", bindings.Timer(func(context.Context, bindings.TimerInfo) error {
			mu.Lock()
			runs[host] = append(runs[host], time.Now().Truncate(time.Second))
			mu.Unlock()
			return nil
		}))
		return app
	}
	start(t, mk("a"), root, env)
	start(t, mk("b"), root, env)
	time.Sleep(4 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != 1 || len(runs["a"])+len(runs["b"]) < 2 {
		t.Fatalf("runs per host %v: want all on one host", runs)
	}
	seen := map[time.Time]bool{}
	for _, ts := range runs {
		for _, at := range ts {
			if seen[at] {
				t.Fatalf("second %s ran twice: %v", at, runs)
			}
			seen[at] = true
		}
	}
}
