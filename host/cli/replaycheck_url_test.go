package cli

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/mgmtapi"
)

// apiOn serves the management API over env's task hub in the test process,
// as a host mounts it, behind key k1. mode "standard" answers like a
// Durable Functions host without funchost's extension; "renamed" also
// shows the instance as if older code had called ReserveOld.
func apiOn(t *testing.T, env map[string]string, mode string) string {
	t.Helper()
	ctx := context.Background()
	s, err := durable.LoadSettings(repoRoot, config.NewMapEnv(env), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hub, err := durable.OpenTaskHub(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Stop(ctx) })
	api := http.StripPrefix(dfwire.WebhookPath, mgmtapi.New(mgmtapi.Options{
		Client: mgmtapi.Hubs(durableclient.New(durableclient.Options{Hub: hub}))}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("code") != "k1" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		if mode != "exact" {
			q := r.URL.Query()
			q.Del(dfwire.ExactHistoryParam)
			r.URL.RawQuery = q.Encode()
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if mode == "renamed" {
			body = bytes.ReplaceAll(body, []byte("ReserveItems"), []byte("ReserveOld"))
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestReplayCheckURL: replay-check and export-history through a host's
// management API (--url) give the verdicts and exit codes of the storage
// source; from a host without funchost's extension the history is rebuilt
// and a note says so; what export-history --url writes replays the same
// with --from-dir.
func TestReplayCheckURL(t *testing.T) {
	t.Parallel()
	env := hubEnv(t, "CliReplayURL")
	env["AzureFunctionsJobHost__extensions__durableTask__defaultVersion"] = "1.0"
	runOrderUntilPayment(t, env, "order-1")
	exact, standard, renamed := apiOn(t, env, "exact"), apiOn(t, env, "standard"), apiOn(t, env, "renamed")

	dir := t.TempDir()
	r := mustRun(t, env, "durable", "export-history", "--url", exact, "--key", "k1", "--to-dir", dir)
	if !strings.Contains(r.stdout, "exported 1 histories") || strings.Contains(r.stdout, "note:") {
		t.Fatalf("export-history --url:\n%s", r.stdout)
	}
	stored := t.TempDir()
	mustRun(t, env, "durable", "export-history", "--to-dir", stored)
	viaAPI, err := os.ReadFile(filepath.Join(dir, "order-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	fromStorage, err := os.ReadFile(filepath.Join(stored, "order-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := historyPart(viaAPI), historyPart(fromStorage); a != b {
		t.Errorf("the history exported through the API differs from the stored one:\n%s\n%s", a, b)
	}
	stdDir := t.TempDir()
	r = mustRun(t, env, "durable", "export-history", "--url", standard+"/?code=k1", "--to-dir", stdDir)
	if !strings.Contains(r.stdout, "note: not exact for order-1") {
		t.Errorf("export-history from a standard host has no note:\n%s", r.stdout)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"funchost host", []string{"--url", exact, "--key", "k1"}, 0, []string{"order-1", "clean", "checked 1: 1 clean"}},
		{"funchost host, one instance", []string{"--url", exact, "--key", "k1", "--instance-id", "order-1"}, 0, []string{"clean"}},
		{"funchost host, other statuses", []string{"--url", exact, "--key", "k1", "--status", "Completed"}, 0, []string{"checked 0"}},
		{"older code on the host", []string{"--url", renamed, "--key", "k1"}, 1, []string{"breaks", "sequence number 0", `TaskScheduled "ReserveOld"`, `CallActivity "ReserveItems"`}},
		{"standard host", []string{"--url", standard, "--key", "k1"}, 0, []string{"clean", "note: not exact for order-1", "rebuilt from the standard historyEvents"}},
		{"older code on a standard host", []string{"--url", renamed + "/runtime/webhooks/durabletask", "--key", "k1"}, 1, []string{"breaks", `TaskScheduled "ReserveOld"`}},
		{"exported through the API", []string{"--from-dir", dir}, 0, []string{"clean"}},
		{"exported from a standard host", []string{"--from-dir", stdDir}, 0, []string{"clean", "note: not exact"}},
		{"missing instance", []string{"--url", exact, "--key", "k1", "--instance-id", "nope"}, 3, nil},
		{"wrong key", []string{"--url", exact, "--key", "k2"}, 1, nil},
		{"not a URL", []string{"--url", "localhost:7071"}, 2, nil},
		{"url and connection string", []string{"--url", exact, "--connection-string", "UseDevelopmentStorage=true"}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, env, "", append([]string{"durable", "replay-check", "-q"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// historyPart is an export file's "history" array (the rest holds the
// export time).
func historyPart(b []byte) string {
	s := string(b)
	if i := strings.Index(s, `"history"`); i >= 0 {
		return s[i:]
	}
	return s
}
