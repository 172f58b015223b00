package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/samples/sampleapp"
)

// TestReplayCheck: export-history writes an in-flight OrderWorkflow's
// history; replay-check passes it on this build (on the task hub and from
// the files) and, on histories this build would break or changes it would
// not notice, reports them with the exit code scripts test.
func TestReplayCheck(t *testing.T) {
	t.Parallel()
	env := hubEnv(t, "CliReplay")
	env["AzureFunctionsJobHost__extensions__durableTask__defaultVersion"] = "1.0"
	runOrderUntilPayment(t, env, "order-1")

	dir := t.TempDir()
	r := mustRun(t, env, "durable", "export-history", "--to-dir", dir)
	if !strings.Contains(r.stdout, "order-1") || !strings.Contains(r.stdout, "exported 1 histories") {
		t.Fatalf("export-history:\n%s", r.stdout)
	}
	file := filepath.Join(dir, "order-1.json")
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	r = mustRun(t, env, "durable", "replay-check")
	if !strings.Contains(r.stdout, "order-1") || !strings.Contains(r.stdout, "clean") || !strings.Contains(r.stdout, "checked 1: 1 clean, 0 with warnings, 0 would break") {
		t.Errorf("replay-check on the task hub:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "replaying") {
		t.Errorf("no progress bar on stderr: %q", r.stderr)
	}

	broken, changed := t.TempDir(), t.TempDir()
	write := func(d, text string) {
		if err := os.WriteFile(filepath.Join(d, "order-1.json"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(broken, strings.Replace(string(exported), `"Name": "ReserveItems"`, `"Name": "ReserveOld"`, 1))
	write(changed, strings.Replace(string(exported), `"Name": "ReserveItems",
      "Input": "\"o1\""`, `"Name": "ReserveItems",
      "Input": "\"o0\""`, 1))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"files, clean", []string{"--from-dir", dir}, 0, []string{"clean"}},
		{"files, breaking", []string{"--from-dir", broken}, 1, []string{"breaks", "sequence number 0", `TaskScheduled "ReserveOld"`, `CallActivity "ReserveItems"`}},
		{"files, warning", []string{"--from-dir", changed}, 0, []string{"warnings", "activity input changed"}},
		{"files, warning, strict", []string{"--from-dir", changed, "--strict"}, 1, []string{"warnings"}},
		{"one instance", []string{"--instance-id", "order-1", "--status", "running"}, 0, []string{"clean"}},
		{"missing instance", []string{"--instance-id", "nope"}, 3, nil},
		{"bad status", []string{"--status", "Sleeping"}, 2, nil},
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
	r = run(t, env, "", "durable", "replay-check", "-q", "--from-dir", broken, "-o", "json")
	var doc struct {
		Summary   struct{ Checked, Breaks int }
		Instances []struct {
			InstanceID string `json:"instanceId"`
			Verdict    string `json:"verdict"`
			Version    string `json:"version"`
			Divergence struct{ SequenceNumber int }
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || doc.Summary.Breaks != 1 ||
		len(doc.Instances) != 1 || doc.Instances[0].Verdict != "breaks" || doc.Instances[0].Version != "1.0" {
		t.Errorf("replay-check -o json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
}

// runOrderUntilPayment runs the sample app's durable side in-process on
// env's hub until the order waits for payment, then stops it.
func runOrderUntilPayment(t *testing.T, env map[string]string, id string) {
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
	rt, err := durable.Start(ctx, hub, engine.NewRegistry(sampleapp.Handlers()), s, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rt.Stop(ctx) }()
	if _, err := rt.Client.StartNew(ctx, "OrderWorkflow", "o1", bindings.WithInstanceID(id)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, err := rt.Client.GetStatus(ctx, id, bindings.StatusOptions{})
		if err == nil && string(st.CustomStatus) == `"awaiting payment"` {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never awaited payment: %+v %v", id, st, err)
		}
	}
}
