package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/internal/hosttest"
	"github.com/funchost/funchost/samples/sampleapp"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// chromiumPath is Debian's Chromium, installed by scripts/install-chromium.sh
// (a prerequisite of make test). FUNCHOST_CHROMIUM points elsewhere.
func chromiumPath() string {
	if p := os.Getenv("FUNCHOST_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// screenshotDir is where the browser tests write their screenshots
// (FUNCHOST_SCREENSHOTS; make screenshots sets it to docs/img), or "".
func screenshotDir() string { return os.Getenv("FUNCHOST_SCREENSHOTS") }

var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
)

// browser returns the package's shared headless Chromium; each test opens
// its own tabs. A missing Chromium fails the test: it never skips.
func browser(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		path := chromiumPath()
		if _, err := os.Stat(path); err != nil {
			browserErr = fmt.Errorf("Chromium is required for the dashboard's browser tests and is missing at %s (%v): run scripts/install-chromium.sh, which make test runs first", path, err)
			return
		}
		dir, err := os.MkdirTemp("", "funchost-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		// This machine's closed network turns Chromium's background
		// connections into errors; none of them is needed.
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path), chromedp.UserDataDir(dir), chromedp.WindowSize(1280, 800),
			chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true), chromedp.Flag("mute-audio", true),
			chromedp.Flag("no-default-browser-check", true), chromedp.Flag("disable-extensions", true),
		}
		alloc, _ := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, _ := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil { // starts the browser
			browserErr = fmt.Errorf("starting Chromium at %s: %w", path, err)
			return
		}
		browserCtx = ctx
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// tab opens a new browser tab at 1280×800 for the test, closed at its end.
func tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	run(t, ctx, chromedp.EmulateViewport(1280, 800))
	return ctx
}

// run runs browser actions, failing the test with what went wrong.
func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// open navigates to u and returns the HTTP status of the page.
func open(t *testing.T, ctx context.Context, u string) int {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(u))
	if err != nil {
		t.Fatalf("browser: opening %s: %v", u, err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// eval evaluates a JavaScript expression.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("browser: evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds. It keeps polling
// through navigations (a click that loads another page, a script that
// sets location), which end the page the condition ran in.
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	expr := "(() => { try { return !!(" + cond + "); } catch (e) { return false; } })()"
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if ctx.Err() != nil {
			break
		}
		lastErr = err
		time.Sleep(40 * time.Millisecond)
	}
	page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ""`))
	t.Fatalf("waiting for %s (%s): still false after 30 s (last error: %v)\npage text:\n%s", what, cond, lastErr, page)
}

// screenshot saves the tab's viewport (or with full, the whole page) as
// <name>.png in FUNCHOST_SCREENSHOTS when that is set.
func screenshot(t *testing.T, ctx context.Context, name string, full bool) {
	t.Helper()
	dir := screenshotDir()
	if dir == "" {
		return
	}
	run(t, ctx, chromedp.Sleep(150*time.Millisecond))
	capture := chromedp.CaptureScreenshot()
	if full {
		capture = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		t.Fatalf("browser: screenshot: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testHost is a funchost host serving the sample app plus the shop
// workflow below, started in-process.
type testHost struct {
	base string // http://127.0.0.1:port
	rpc  string // loopback listener base, e.g. http://127.0.0.1:port
	code string // key for management calls ("" when open)
	logs *hosttest.SyncBuffer
}

// startHost runs the test app with env on free ports until the test ends.
func startHost(t *testing.T, env map[string]string) *testHost {
	t.Helper()
	root := appFolder(t)
	// The sample app's every-minute background-job timer would add an
	// instance to the counted lists.
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	env["AzureWebJobs.BackgroundJobTimer.Disabled"] = "true"
	app := host.NewApp()
	for name, h := range sampleapp.Handlers() {
		app.Register(name, h)
	}
	app.Register("ProcessOrder", bindings.Orchestrator(processOrder))
	app.Register("ReserveStock", bindings.Activity(reserveStock))
	app.Register("ChargeCard", bindings.Activity(chargeCard))
	app.Register("StartOrder", http.HandlerFunc(startOrder))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &hosttest.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- host.Run(ctx, app, host.Options{
			ScriptRoot: root, Listener: ln, Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Env: config.NewMapEnv(env), LocalRPCAddr: "127.0.0.1:0", ShutdownTimeout: 30 * time.Second,
			Ready: func(string) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("host.Run failed at startup: %v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("host.Run returned %v", err)
		}
	})
	h := &testHost{base: "http://" + ln.Addr().String(), logs: logs, code: env["FUNCTIONS_SYSTEM_KEY_DURABLETASK_EXTENSION"]}
	for _, line := range strings.Split(logs.String(), "\n") {
		if _, after, ok := strings.Cut(line, "Local dashboard (loopback, no keys): "); ok {
			h.rpc = strings.TrimSuffix(strings.Trim(after, `"`), "/durabletask/dashboard/")
		}
	}
	return h
}

// dashboard is the URL of a dashboard page on the main port.
func (h *testHost) dashboard(p string) string {
	return h.base + "/runtime/webhooks/durabletask/dashboard" + p
}

// api calls the management API (with the key when there is one) and
// returns the status and body.
func (h *testHost) api(t *testing.T, method, p string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.base+"/runtime/webhooks/durabletask"+p, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if h.code != "" {
		req.Header.Set("x-functions-key", h.code)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// startInstance starts orchestrator as instance id with input.
func (h *testHost) startInstance(t *testing.T, orchestrator, id string, input any) {
	t.Helper()
	if code, b := h.api(t, "POST", "/orchestrators/"+orchestrator+"/"+id, input); code != http.StatusAccepted {
		t.Fatalf("starting %s as %s: %d %s", orchestrator, id, code, b)
	}
}

// raise sends an external event through the management API.
func (h *testHost) raise(t *testing.T, id, event string, data any) {
	t.Helper()
	if code, b := h.api(t, "POST", "/instances/"+id+"/raiseEvent/"+event, data); code != http.StatusAccepted {
		t.Fatalf("raising %s on %s: %d %s", event, id, code, b)
	}
}

// waitStatus polls an instance until its runtime status is want.
func (h *testHost) waitStatus(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, b := h.api(t, "GET", "/instances/"+id, nil)
		var st struct {
			RuntimeStatus string `json:"runtimeStatus"`
		}
		_ = json.Unmarshal(b, &st)
		if st.RuntimeStatus == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s: %d %s after 60 s, want %s", id, code, b, want)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// appFolder writes the test app: the sample app's host.json and
// function.json files plus the shop workflow's.
func appFolder(t *testing.T) string {
	t.Helper()
	repo, err := azuritetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	hostJSON, err := os.ReadFile(filepath.Join(repo, "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "host.json"), hostJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	fns := map[string]string{}
	dirs, err := os.ReadDir(filepath.Join(repo, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(repo, "functions", d.Name(), "function.json"))
		if err != nil {
			t.Fatal(err)
		}
		fns[d.Name()] = string(b)
	}
	fns["ProcessOrder"] = `{"bindings": [{"name": "context", "type": "orchestrationTrigger", "direction": "in"}]}`
	fns["ReserveStock"] = `{"bindings": [{"name": "order", "type": "activityTrigger", "direction": "in"}]}`
	fns["ChargeCard"] = `{"bindings": [{"name": "payment", "type": "activityTrigger", "direction": "in"}]}`
	fns["StartOrder"] = `{"bindings": [
		{"name": "req", "type": "httpTrigger", "direction": "in", "authLevel": "anonymous", "route": "orders/{id}", "methods": ["post"]},
		{"name": "$return", "type": "http", "direction": "out"},
		{"name": "client", "type": "durableClient", "direction": "in"}]}`
	hosttest.WriteFunctions(t, root, fns)
	return root
}

// orderVersion is the version StartOrder records on the orders.
const orderVersion = "2.1"

// startOrder starts ProcessOrder as instance order-{id}, at orderVersion.
func startOrder(w http.ResponseWriter, r *http.Request) {
	var o order
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, err := bindings.Client(r).StartNew(r.Context(), "ProcessOrder", o,
		bindings.WithInstanceID("order-"+bindings.RouteValue(r, "id")), bindings.WithVersion(orderVersion))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := bindings.Client(r).CreateCheckStatusResponse(w, r, id); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// startOrder starts a ProcessOrder instance through the app's starter.
func (h *testHost) startOrder(t *testing.T, o order) {
	t.Helper()
	b, _ := json.Marshal(o)
	resp, err := http.Post(h.base+"/api/orders/"+o.ID, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("starting order %s: %d %s", o.ID, resp.StatusCode, body)
	}
}

// order is ProcessOrder's input.
type order struct {
	ID    string `json:"id"`
	Items int    `json:"items"`
}

// processOrder is a shop workflow with one of each thing the timeline
// draws: activities, a durable timer, a sub-orchestration, a wait for an
// external event, and an activity that fails when the payment is
// declined.
func processOrder(ctx bindings.OrchestrationContext) (any, error) {
	o, err := bindings.GetInput[order](ctx)
	if err != nil {
		return nil, err
	}
	ctx.SetCustomStatus(map[string]string{"step": "reserving stock"})
	reservation, err := bindings.CallActivity[string](ctx, "ReserveStock", o)
	if err != nil {
		return nil, err
	}
	if err := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(150 * time.Millisecond)).Await(nil); err != nil {
		return nil, err
	}
	if _, err := bindings.CallSubOrchestrator[[]string](ctx, "HelloSequence", nil); err != nil {
		return nil, err
	}
	ctx.SetCustomStatus(map[string]string{"step": "awaiting payment"})
	payment, err := bindings.WaitForExternalEvent[json.RawMessage](ctx, "Payment")
	if err != nil {
		return nil, err
	}
	receipt, err := bindings.CallActivity[string](ctx, "ChargeCard", payment)
	if err != nil {
		return nil, fmt.Errorf("order %s: charging the card: %w", o.ID, err)
	}
	ctx.SetCustomStatus(map[string]string{"step": "done"})
	return map[string]string{"reservation": reservation, "receipt": receipt}, nil
}

func reserveStock(ctx bindings.ActivityContext) (any, error) {
	var o order
	if err := ctx.Input(&o); err != nil {
		return nil, err
	}
	time.Sleep(40 * time.Millisecond)
	return fmt.Sprintf("reserved %d items for %s", o.Items, o.ID), nil
}

func chargeCard(ctx bindings.ActivityContext) (any, error) {
	var p struct {
		Card     string `json:"card"`
		Declined bool   `json:"declined"`
	}
	if err := ctx.Input(&p); err != nil {
		return nil, err
	}
	time.Sleep(25 * time.Millisecond)
	if p.Declined {
		return nil, errors.New("card declined: insufficient funds")
	}
	return "charged card " + p.Card, nil
}
