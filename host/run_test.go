package host

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/internal/hosttest"
	"github.com/funchost/funchost/samples/sampleapp"
)

// syncBuffer collects logs written from several goroutines.
type syncBuffer = hosttest.SyncBuffer

// running is a host started by start.
type running struct {
	base string
	logs *syncBuffer
	stop func() error // cancels and waits for Run's result
}

// start runs app on a free port and waits until it serves.
func start(t *testing.T, app *App, root string, env map[string]string) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, app, Options{
			ScriptRoot:      root,
			Listener:        ln,
			Logger:          slog.New(slog.NewTextHandler(logs, nil)),
			Env:             config.NewMapEnv(env),
			LocalRPCAddr:    "off",
			ShutdownTimeout: time.Minute,
			StrictFunctions: true,
			Ready:           func(string) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Run failed at startup: %v\nlogs:\n%s", err, logs.String())
	}
	var once sync.Once
	var runErr error
	r := &running{base: "http://" + ln.Addr().String(), logs: logs, stop: func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}}
	t.Cleanup(func() { _ = r.stop() })
	return r
}

// repoRoot is the sample app's folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ""))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func sampleApp() *App {
	app := NewApp()
	for name, h := range sampleapp.Handlers() {
		app.Register(name, h)
	}
	return app
}

// memoryEnv runs the sample app on the in-memory provider.
var memoryEnv = map[string]string{
	"AzureFunctionsJobHost__extensions__durableTask__storageProvider__type": "memory",
}

// runHelloSequence starts HelloSequence through the sample's HTTP starter
// and polls its statusQueryGetUri until it is no longer running.
func runHelloSequence(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Post(base+"/api/orchestrators/HelloSequence", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var payload struct {
		ID                string `json:"id"`
		StatusQueryGetURI string `json:"statusQueryGetUri"`
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &payload); err != nil || payload.StatusQueryGetURI == "" {
		t.Fatalf("start payload %s: %v", body, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(payload.StatusQueryGetURI)
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			RuntimeStatus string          `json:"runtimeStatus"`
			Output        json.RawMessage `json:"output"`
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("status %d %s: %v", resp.StatusCode, b, err)
		}
		switch st.RuntimeStatus {
		case "Completed":
			var out []string
			if err := json.Unmarshal(st.Output, &out); err != nil {
				t.Fatalf("output %s: %v", st.Output, err)
			}
			want := []string{"Hello Tokyo!", "Hello Seattle!", "Hello London!"}
			if !reflect.DeepEqual(out, want) {
				t.Errorf("output = %q, want %q", out, want)
			}
			return
		case "Failed", "Terminated", "Canceled":
			t.Fatalf("instance %s ended %s: %s", payload.ID, st.RuntimeStatus, b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s still %s after 2 minutes", payload.ID, st.RuntimeStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSampleAppEndToEndMemory(t *testing.T) {
	t.Parallel()
	h := start(t, sampleApp(), repoRoot(t), memoryEnv)
	runHelloSequence(t, h.base)

	// Unknown routes answer JSON 404s.
	resp, err := http.Get(h.base + "/api/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("unknown route: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := h.stop(); err != nil {
		t.Errorf("Run returned %v after cancel", err)
	}
	logs := h.logs.String()
	for _, want := range []string{"Executing 'Functions.HttpStart'", "(Succeeded, Id=", "the host is open for local development",
		"HttpStart: [POST] http://localhost:", "Host stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
}

func TestKeysProtectSampleApp(t *testing.T) {
	t.Parallel()
	env := map[string]string{"FUNCTIONS_HOST_KEY": "hk", "FUNCTIONS_SYSTEM_KEY_DURABLETASK_EXTENSION": "sys"}
	for k, v := range memoryEnv {
		env[k] = v
	}
	h := start(t, sampleApp(), repoRoot(t), env)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/api/orchestrators/HelloSequence", 401},
		{"POST", "/api/orchestrators/HelloSequence?code=sys", 401},
		{"POST", "/api/orchestrators/HelloSequence?code=hk", 202},
		{"GET", "/runtime/webhooks/durabletask/instances", 401},
		{"GET", "/runtime/webhooks/durabletask/instances?code=hk", 401},
		{"GET", "/runtime/webhooks/durabletask/instances?code=sys", 200},
	} {
		req, _ := http.NewRequest(tc.method, h.base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}

	// The check-status URLs carry the system key, so a poller can follow
	// them without knowing it.
	resp, err := http.Post(h.base+"/api/orchestrators/HelloSequence?code=hk", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]string
	err = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri"} {
		if !strings.HasSuffix(p[field], "&code=sys") {
			t.Errorf("%s = %q lacks the system key", field, p[field])
		}
	}
	if resp.Header.Get("Location") != p["statusQueryGetUri"] {
		t.Errorf("Location %q, statusQueryGetUri %q", resp.Header.Get("Location"), p["statusQueryGetUri"])
	}
	resp, err = http.Get(p["statusQueryGetUri"])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 202 {
		t.Errorf("GET statusQueryGetUri = %d", resp.StatusCode)
	}
}

// writeApp creates an app folder with the given function.json files.
func writeApp(t *testing.T, hostJSON string, fns map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "host.json"), []byte(hostJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	hosttest.WriteFunctions(t, root, fns)
	return root
}

const anonHTTP = `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous"},{"name":"$return","type":"http","direction":"out"}]}`

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	release := make(chan struct{})
	app := NewApp()
	app.Register("Slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	h := start(t, app, writeApp(t, `{"version":"2.0"}`, map[string]string{"Slow": anonHTTP}), nil)

	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(h.base + "/api/Slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	// Wait until shutdown has closed the listener, then let the handler end.
	addr := strings.TrimPrefix(h.base, "http://")
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	r := <-res
	if r.err != nil || r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run returned %v", err)
	}
}

func TestStartupErrors(t *testing.T) {
	t.Parallel()
	okApp := func() *App {
		a := NewApp()
		a.Register("F", http.NotFoundHandler())
		return a
	}
	for _, tc := range []struct {
		name     string
		app      *App
		hostJSON string
		fns      map[string]string
		want     []string
	}{
		{"bad function.json", okApp(), `{"version":"2.0"}`,
			map[string]string{"F": `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"root"}]}`},
			[]string{filepath.Join("functions", "F", "function.json"), `"bindings[0].authLevel"`}},
		{"bad host.json", okApp(), `{"version":"2.0","extensions":{"durableTask":{"storageProvider":{"partitionCount":99}}}}`,
			map[string]string{"F": anonHTTP}, []string{"host.json", "partitionCount", "between 1 and 16"}},
		{"missing handler", NewApp(), `{"version":"2.0"}`, map[string]string{"F": anonHTTP}, []string{"function F has no Go handler"}},
		{"wrong handler shape", func() *App { a := NewApp(); a.Register("F", func() {}); return a }(), `{"version":"2.0"}`,
			map[string]string{"F": anonHTTP}, []string{"function F has an httpTrigger binding", "got func()"}},
		{"duplicate registration", func() *App { a := okApp(); a.Register("F", http.NotFoundHandler()); return a }(), `{"version":"2.0"}`,
			map[string]string{"F": anonHTTP}, []string{"more than once", "F"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Run(context.Background(), tc.app, Options{
				ScriptRoot: writeApp(t, tc.hostJSON, tc.fns), Listener: mustListen(t),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Env: config.NewMapEnv(nil), LocalRPCAddr: "off",
				StrictFunctions: true,
			})
			if err == nil {
				t.Fatal("Run succeeded, want a startup error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{"127.0.0.1:17071": true, "localhost:1": true, "[::1]:5": true, "0.0.0.0:17071": false, ":17071": false} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
}

func TestLocalManagementEndpoint(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, sampleApp(), Options{
			ScriptRoot: repoRoot(t), Listener: mustListen(t), LogFormat: "json", LogOutput: logs,
			Env: config.NewMapEnv(memoryEnv), LocalRPCAddr: "127.0.0.1:0",
			Ready: func(addr string) { ready <- addr },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	// The JSON log names the loopback listener's address.
	var rpcURL string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec struct{ Msg string }
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if u, ok := strings.CutPrefix(rec.Msg, "Local management endpoint (loopback, no keys): "); ok {
			rpcURL = u
		}
	}
	if !strings.HasPrefix(rpcURL, "http://127.0.0.1:") {
		t.Fatalf("no loopback endpoint in logs:\n%s", logs.String())
	}
	resp, err := http.Get(rpcURL + "instances")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		t.Errorf("GET %sinstances = %d %s", rpcURL, resp.StatusCode, body)
	}
	// What a web page can make a browser send: a rebound DNS name, and a
	// cross-site simple POST that would start an instance.
	for _, tc := range []struct {
		name, method, path, host, origin string
		want                             int
	}{
		{"rebound DNS name", "GET", "instances", "evil.example:17071", "", 403},
		{"cross-site start", "POST", "orchestrators/HelloSequence", "", "https://evil.example", 403},
		{"start from a tool", "POST", "orchestrators/HelloSequence", "", "", 202},
	} {
		req, _ := http.NewRequest(tc.method, rpcURL+tc.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "text/plain")
		if tc.host != "" {
			req.Host = tc.host
		}
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
}

func TestBadLogFormat(t *testing.T) {
	t.Parallel()
	err := Run(context.Background(), NewApp(), Options{LogFormat: "xml", Env: config.NewMapEnv(nil)})
	if err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("error = %v", err)
	}
}

func TestDisabledSetting(t *testing.T) {
	t.Parallel()
	app := NewApp()
	app.Register("F", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h := start(t, app, writeApp(t, `{"version":"2.0"}`, map[string]string{"F": anonHTTP}), map[string]string{"AzureWebJobs.F.Disabled": "true"})
	resp, err := http.Get(h.base + "/api/F")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("disabled function answered %d", resp.StatusCode)
	}
}
