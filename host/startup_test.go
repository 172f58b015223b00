package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/internal/hosttest"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// closedStorage is a connection string to ports nothing listens on.
func closedStorage(t *testing.T) string {
	t.Helper()
	p := hosttest.FreePort(t)
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://127.0.0.1:%d/%s;QueueEndpoint=http://127.0.0.1:%d/%s;TableEndpoint=http://127.0.0.1:%d/%s;",
		azuritetest.AccountName, azuritetest.AccountKey, p, azuritetest.AccountName, p, azuritetest.AccountName, p, azuritetest.AccountName)
}

// hostStatus reads /admin/host/status: the state and its errors.
func hostStatus(t *testing.T, base string) (string, []string) {
	t.Helper()
	resp, err := http.Get(base + "/admin/host/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		State  string
		Errors []string
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("host status: %d %v", resp.StatusCode, err)
	}
	return st.State, st.Errors
}

// TestHostStartedBeforeAzurite: a host whose storage is not up yet waits
// for it, logging each attempt and serving its status meanwhile ("Starting",
// saying what it waits for) and 503 with Retry-After to everything else;
// once Azurite starts it comes up and runs orchestrations.
func TestHostStartedBeforeAzurite(t *testing.T) {
	t.Parallel()
	srv, err := azuritetest.Start(azuritetest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Azurite is required: %v", err)
	}
	t.Cleanup(srv.Stop)
	env := azuriteEnv(t, "Before")
	env["AzureWebJobsStorage"] = srv.ConnectionString()
	srv.Stop() // the ports are known; storage is down when the host starts

	ln := mustListen(t)
	base := "http://" + ln.Addr().String()
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- Run(ctx, sampleApp(), Options{ScriptRoot: repoRoot(t), Listener: ln, Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Env: config.NewMapEnv(env), LocalRPCAddr: "off", StrictFunctions: true, StorageWaitTimeout: 5 * time.Minute,
			Ready: func(string) { close(ready) }})
	}()
	t.Cleanup(func() { cancel(); <-done })

	eventually(t, 2*time.Minute, "the host to report that it waits for storage", func() bool {
		state, errs := hostStatus(t, base)
		return state == "Starting" && len(errs) == 1 && strings.Contains(errs[0], "Waiting for storage")
	})
	resp, err := http.Post(base+"/api/orchestrators/HelloSequence", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "Waiting for storage") {
		t.Errorf("a start while waiting: %d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if !strings.Contains(logs.String(), "Waiting for storage (attempt 1") {
		t.Errorf("no log line per attempt:\n%s", logs.String())
	}

	if err := srv.Restart(); err != nil {
		t.Fatalf("starting Azurite: %v", err)
	}
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v\n%s", err, logs.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("the host did not come up after Azurite started:\n%s", logs.String())
	}
	if state, _ := hostStatus(t, base); state != "Running" {
		t.Errorf("state %q once up, want Running", state)
	}
	runHelloSequence(t, base)
}

// TestStartupGivesUpOnStorage: past the configured wait the host stops
// with an error that says storage was unreachable; a bad wait setting is
// a start-up error of its own.
func TestStartupGivesUpOnStorage(t *testing.T) {
	t.Parallel()
	env := maps.Clone(azuriteEnv(t, "GiveUp"))
	env["AzureWebJobsStorage"] = closedStorage(t)
	for _, tc := range []struct {
		name    string
		setting string
		want    string
	}{
		{"gives up", "2s", "storage was unreachable"},
		{"bad setting", "soon", SettingStorageWaitTimeout},
	} {
		e := maps.Clone(env)
		e[SettingStorageWaitTimeout] = tc.setting
		err := Run(context.Background(), sampleApp(), Options{ScriptRoot: repoRoot(t), Listener: mustListen(t),
			Logger: slog.New(slog.DiscardHandler), Env: config.NewMapEnv(e), LocalRPCAddr: "off", StrictFunctions: true})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Run returned %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// eventually polls cond until it holds; the deadline only keeps a broken
// host from hanging the test.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
