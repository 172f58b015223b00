package host

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/samples/sampleapp"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// copyDir copies the fixture app folder into a temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// realAppCalls records what the generated handlers saw.
type realAppCalls struct {
	timerRuns  atomic.Int64
	mu         sync.Mutex
	queueTexts []string
}

// realAppHandlers generates a handler for each function.json that parses,
// by trigger kind, as a Go port of the app would register them.
func realAppHandlers(t *testing.T, root string, calls *realAppCalls) *App {
	t.Helper()
	defs, _, err := functions.Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	app := NewApp()
	for _, d := range defs {
		if d.Name == "NoHandler" {
			continue // its function is reported in error
		}
		switch d.Kind {
		case functions.KindHTTP:
			app.Register(d.Name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if d.Name == "Enqueue" {
					body, _ := io.ReadAll(r.Body)
					if err := bindings.AddQueueMessage(r.Context(), "outMsg", string(body)); err != nil {
						http.Error(w, err.Error(), 500)
						return
					}
					w.WriteHeader(http.StatusAccepted)
					return
				}
				id, err := bindings.Client(r).StartNew(r.Context(), bindings.RouteValue(r, "functionName"), nil)
				if err != nil {
					http.Error(w, err.Error(), 400)
					return
				}
				_ = bindings.Client(r).CreateCheckStatusResponse(w, r, id)
			}))
		case functions.KindOrchestrator:
			app.Register(d.Name, bindings.Orchestrator(func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.CallActivity[string](ctx, "E1_SayHello", "Tokyo")
			}))
		case functions.KindActivity:
			app.Register(d.Name, bindings.Activity(func(ctx bindings.ActivityContext) (any, error) {
				var in string
				_ = ctx.Input(&in)
				if d.Name == "CopyFileToBlob" {
					return nil, bindings.SetBlob(ctx, "out", in)
				}
				return "Hello " + in + "!", nil
			}))
		case functions.KindTimer:
			app.Register(d.Name, bindings.Timer(func(ctx context.Context, info bindings.TimerInfo) error {
				calls.timerRuns.Add(1)
				_, err := bindings.ClientFrom(ctx).StartNew(ctx, "E1_HelloSequence", nil, bindings.WithInstanceID("timer-singleton"))
				if errors.Is(err, bindings.ErrInstanceExists) {
					return nil
				}
				return err
			}))
		case functions.KindQueue:
			app.Register(d.Name, bindings.QueueTrigger(func(ctx context.Context, msg bindings.QueueMessage) error {
				calls.mu.Lock()
				calls.queueTexts = append(calls.queueTexts, msg.Text())
				calls.mu.Unlock()
				_, err := bindings.ClientFrom(ctx).StartNew(ctx, "E1_HelloSequence", nil, bindings.WithInstanceID(msg.Text()))
				return err
			}))
		case functions.KindEntity:
			app.Register(d.Name, bindings.EntityOf[sampleapp.Counter]())
		case functions.KindManual:
			app.Register(d.Name, bindings.Manual(func(ctx context.Context, input string) error {
				_, err := bindings.ClientFrom(ctx).StartNew(ctx, input, nil, bindings.WithInstanceID("manual-"+input))
				return err
			}))
		}
	}
	return app
}

// TestRealAppFixtures starts the host on a folder reproducing what real
// Durable Functions apps contain and checks that the functions funchost
// can host run while the others are reported one by one.
func TestRealAppFixtures(t *testing.T) {
	root := copyDir(t, filepath.Join("testdata", "realapps", "app"))
	calls := &realAppCalls{}
	app := realAppHandlers(t, root, calls)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	env := config.NewMapEnv(map[string]string{"AzureWebJobsStorage": azuritetest.ConnectionString(t)})
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- Run(ctx, app, Options{ScriptRoot: root, Listener: ln, Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Env: env, LocalRPCAddr: "off", ShutdownTimeout: 30 * time.Second, Ready: func(string) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the app did not start: %v\n%s", err, logs.String())
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	base := "http://" + ln.Addr().String()

	inError := map[string]string{
		"SendSmsChallenge": "The binding type(s) 'twilioSms' are not registered.",
		"BrokenJson":       "invalid JSON at line 3, column 57",
		"NoHandler":        "function NoHandler has no Go handler",
		"TwoTriggers":      "Multiple trigger bindings defined. A function can only have a single trigger binding.",
		"BadSchedule":      "The schedule expression 'every minute' was not recognized as a valid cron expression or timespan string.",
	}
	for name, want := range inError {
		if !strings.Contains(logs.String(), "The '"+name+"' function is in error: ") {
			t.Errorf("no in-error log line for %s", name)
		}
		var st struct{ Errors []string }
		getJSON(t, base+"/admin/functions/"+name+"/status", &st)
		if len(st.Errors) == 0 || !strings.Contains(strings.Join(st.Errors, "\n"), want) {
			t.Errorf("%s status errors %q, want %q", name, st.Errors, want)
		}
	}
	loaded := []string{"HttpStart", "E1_HelloSequence", "E1_SayHello", "CommentedOrchestrator", "TimerStarter",
		"QueueStarter", "CopyFileToBlob", "Enqueue", "ManualStart", "CounterEntity"}
	for _, name := range loaded {
		var st map[string]any
		getJSON(t, base+"/admin/functions/"+name+"/status", &st)
		if len(st) != 0 {
			t.Errorf("%s: status %v, want {}", name, st)
		}
	}
	var list []struct{ Name string }
	getJSON(t, base+"/admin/functions", &list)
	if len(list) != len(loaded)+len(inError)-1 { // BrokenJson cannot be listed
		t.Errorf("admin list has %d functions: %v", len(list), list)
	}
	if !strings.Contains(logs.String(), "host.json settings funchost does not implement are ignored: extensionBundle") ||
		strings.Contains(logs.String(), "ignored: extensionBundle, logging") {
		t.Error("no warning for the unimplemented host.json settings (extensionBundle; logging.logLevel is implemented)")
	}

	// HTTP, queue (output then trigger), timer and manual starters all run.
	resp, err := http.Post(base+"/api/orchestrators/E1_HelloSequence", "application/json", nil)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("HTTP starter: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(base+"/api/Enqueue", "text/plain", strings.NewReader("from-the-queue"))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("Enqueue: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(base+"/admin/functions/ManualStart", "application/json", strings.NewReader(`{"input":"CommentedOrchestrator"}`))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("manual start: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, id := range []string{"from-the-queue", "timer-singleton", "manual-CommentedOrchestrator"} {
		waitCompleted(t, base, id, logs)
	}
	if calls.timerRuns.Load() == 0 {
		t.Error("the timer never ran")
	}
	for _, line := range []string{"Reason='New queue message detected on 'realapps-start'.'", "Reason='Timer fired at ",
		"Executed 'Functions.QueueStarter' (Succeeded", "Executed 'Functions.TimerStarter' (Succeeded"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("logs lack %q", line)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// waitCompleted polls the management API until the instance completed.
func waitCompleted(t *testing.T, base, id string, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/runtime/webhooks/durabletask/instances/" + id)
		if err == nil {
			var st struct{ RuntimeStatus string }
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if last = st.RuntimeStatus; last == "Completed" {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("instance %s not completed (last status %q)\nlogs:\n%s", id, last, logs.String())
}
