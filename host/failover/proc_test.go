package failover

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funchost/funchost/host/internal/hosttest"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// buildSamples builds the sample app's command once into dir and returns
// its path.
func buildSamples(t *testing.T, dir string) string { return buildApp(t, dir, "./samples") }

// buildApp builds the command pkg (a path from the repository root) into
// dir and returns the binary's path.
func buildApp(t *testing.T, dir, pkg string) string {
	t.Helper()
	root, err := azuritetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// appSettings are the host.json settings of the test app that matter for
// fail-over.
type appSettings struct {
	hub        string
	connection string
	// durable adds to or overrides host.json's extensions.durableTask,
	// values to local.settings.json's Values.
	durable map[string]any
	values  map[string]string
}

// writeScriptRoot creates an app folder: the repository's functions/, a
// host.json on a fresh hub with short polling and lock times, and a
// local.settings.json pointing at the given storage account.
func writeScriptRoot(t *testing.T, dir string, s appSettings) {
	t.Helper()
	root, err := azuritetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "functions"), os.DirFS(filepath.Join(root, "functions"))); err != nil {
		t.Fatalf("copying functions/: %v", err)
	}
	hostJSON := map[string]any{
		"version": "2.0",
		"extensions": map[string]any{
			"http": map[string]any{"routePrefix": "api"},
			"durableTask": map[string]any{
				"hubName": s.hub,
				// Both processes would want the same loopback port.
				"localRpcEndpointEnabled": false,
				// Few concurrent work items per host stretch the run to
				// several seconds, so that the kill finds host B with
				// received messages buffered and locked, orchestrations
				// and activities running.
				"maxConcurrentOrchestratorFunctions": 2,
				"maxConcurrentActivityFunctions":     2,
				"storageProvider": map[string]any{
					"connectionName": "AzureWebJobsStorage",
					"partitionCount": 4,
					// A newly owned, still locked queue is polled every
					// second rather than backing off to 30 s.
					"maxQueuePollingInterval": "00:00:01",
					// Messages a dead host had received come back after
					// these lock times: 1 minute is the smallest control
					// queue visibility Durable Functions accepts.
					"controlQueueVisibilityTimeout":  "00:01:00",
					"workItemQueueVisibilityTimeout": "00:00:20",
				},
			},
		},
	}
	durable := hostJSON["extensions"].(map[string]any)["durableTask"].(map[string]any)
	for k, v := range s.durable {
		durable[k] = v
	}
	values := map[string]string{
		"AzureWebJobsStorage":      s.connection,
		"FUNCTIONS_WORKER_RUNTIME": "custom",
	}
	for k, v := range s.values {
		values[k] = v
	}
	local := map[string]any{"IsEncrypted": false, "Values": values}
	for name, v := range map[string]any{"host.json": hostJSON, "local.settings.json": local} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func freePort(t *testing.T) int { return hosttest.FreePort(t) }

// childEnv is the test's environment without the settings that would
// override the app folder's configuration.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.EqualFold(k, "AzureWebJobsStorage"), k == "FUNCHOST_LOG_FORMAT",
			k == "WEBSITE_HOSTNAME", k == "WEBSITE_SITE_NAME",
			strings.HasPrefix(k, "AzureFunctionsJobHost__"), strings.HasPrefix(k, "AzureWebJobsStorage__"):
			continue
		}
		out = append(out, kv)
	}
	return out
}

// partitionEvent is a partition ownership change read from a host's log.
type partitionEvent struct {
	at        time.Time
	partition int
	acquired  bool // false: released
}

var partitionRe = regexp.MustCompile(`\bpartition=(\d+)`)

// hostProc is one running process of the sample app.
type hostProc struct {
	name string
	base string // http://127.0.0.1:<port>
	cmd  *exec.Cmd
	file *os.File // the full log
	done chan struct{}

	mu     sync.Mutex
	lines  []string
	events []partitionEvent
	err    error // the exit status, once done
}

// startHost starts the sample app on root and waits until it serves HTTP.
func startHost(t *testing.T, name, bin, root, logDir string) *hostProc {
	t.Helper()
	return startHostEnv(t, name, bin, root, logDir)
}

// startHostEnv is startHost with extra environment variables
// ("KEY=value") for the process.
func startHostEnv(t *testing.T, name, bin, root, logDir string, env ...string) *hostProc {
	t.Helper()
	port := freePort(t)
	f, err := os.Create(filepath.Join(logDir, "host-"+name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--script-root", root, "--port", strconv.Itoa(port), "--log-format", "text")
	cmd.Dir = root
	cmd.Env = append(childEnv(), env...)
	// The host dies with the test binary rather than lingering.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	p := &hostProc{name: name, base: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, file: f, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting host %s: %v", name, err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		p.scan(out)
	}()
	go func() {
		<-scanned
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		f.Close()
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("host %s exited during start-up (%v):\n%s", name, p.exitErr(), p.tail(100))
		default:
		}
		resp, err := httpClient.Get(p.base + "/runtime/webhooks/durabletask/instances?top=1")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("host %s does not serve within 60 s (last error %v):\n%s", name, err, p.tail(100))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scan copies the process output to the log file and records partition
// ownership changes.
func (p *hostProc) scan(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		now := time.Now()
		fmt.Fprintln(p.file, line)
		var ev *partitionEvent
		acquired := strings.Contains(line, `msg="partition acquired"`)
		if acquired || strings.Contains(line, `msg="partition released"`) {
			if pm := partitionRe.FindStringSubmatch(line); pm != nil {
				n, _ := strconv.Atoi(pm[1])
				ev = &partitionEvent{at: now, partition: n, acquired: acquired}
			}
		}
		p.mu.Lock()
		p.lines = append(p.lines, line)
		if ev != nil {
			p.events = append(p.events, *ev)
		}
		p.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

// owned returns the partitions the process owns according to its log.
func (p *hostProc) owned() map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int]bool{}
	for _, e := range p.events {
		if e.acquired {
			out[e.partition] = true
		} else {
			delete(out, e.partition)
		}
	}
	return out
}

// acquiredSince returns when each partition was last acquired after t.
func (p *hostProc) acquiredSince(t time.Time) map[int]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int]time.Time{}
	for _, e := range p.events {
		if e.acquired && e.at.After(t) {
			out[e.partition] = e.at
		}
	}
	return out
}

func (p *hostProc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *hostProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// tail returns the last n log lines.
func (p *hostProc) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := p.lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// problems returns the log's warnings and errors (at most n).
func (p *hostProc) problems(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") || strings.HasPrefix(l, "panic") || strings.HasPrefix(l, "funchost:") {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = append(out[:n/2], append([]string{fmt.Sprintf("... %d more ...", len(out)-n)}, out[len(out)-n/2:]...)...)
	}
	return strings.Join(out, "\n")
}

// dump writes the process's log into the test log.
func (p *hostProc) dump(t *testing.T) {
	t.Helper()
	t.Logf("==== host %s (full log %s) — warnings and errors:\n%s", p.name, p.file.Name(), p.problems(200))
	t.Logf("==== host %s — last 150 lines:\n%s", p.name, p.tail(150))
}

// stop sends SIGTERM and waits for the exit; it returns the exit status.
func (p *hostProc) stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("host %s did not exit within %s of SIGTERM", p.name, timeout)
	}
}

// ---- HTTP ----

var httpClient = &http.Client{Timeout: 20 * time.Second}

// call makes a request and returns the status and body.
func call(ctx context.Context, method, url string, body []byte) (int, []byte, http.Header, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// status is the part of the management API's status JSON the test reads.
type status struct {
	Name          string            `json:"name"`
	InstanceID    string            `json:"instanceId"`
	RuntimeStatus string            `json:"runtimeStatus"`
	Output        json.RawMessage   `json:"output"`
	History       []json.RawMessage `json:"historyEvents"`
}

// listStatuses reads every instance of the hub through the management
// API, following continuation tokens.
func listStatuses(ctx context.Context, base string) ([]status, error) {
	var all []status
	token := ""
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/runtime/webhooks/durabletask/instances?top=1000", nil)
		if err != nil {
			return nil, err
		}
		if token != "" {
			req.Header.Set("x-ms-continuation-token", token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("listing instances: %d %s", resp.StatusCode, b)
		}
		var page []status
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, fmt.Errorf("listing instances: %w", err)
		}
		all = append(all, page...)
		token = resp.Header.Get("x-ms-continuation-token")
		if token == "" || token == "null" || len(page) == 0 {
			return all, nil
		}
	}
}

// getStatus reads one instance with its history.
func getStatus(ctx context.Context, base, id string) (*status, error) {
	code, b, _, err := call(ctx, "GET", base+"/runtime/webhooks/durabletask/instances/"+id+"?showHistory=true&showHistoryOutput=true", nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK && code != http.StatusAccepted {
		return nil, fmt.Errorf("status of %s: %d %s", id, code, b)
	}
	var s status
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("status of %s: %w", id, err)
	}
	return &s, nil
}

// startOrchestration starts name as instance id through the app's
// HttpStartSingle function.
func startOrchestration(ctx context.Context, base, name, id string, input []byte) error {
	code, b, _, err := call(ctx, "POST", base+"/api/orchestrators/"+name+"/"+id, input)
	if err != nil {
		return fmt.Errorf("starting %s %s: %w", name, id, err)
	}
	if code != http.StatusAccepted {
		return fmt.Errorf("starting %s %s: %d %s", name, id, code, b)
	}
	return nil
}

// errNotYet marks a condition that is still being waited for.
var errNotYet = errors.New("not yet")
