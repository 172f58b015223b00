//go:build faults

package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// faultAppFunctions are the function.json bindings of faultapp's extra
// functions, by the prefix of their names.
var faultAppFunctions = map[string]string{
	"Orch": `{"bindings":[{"name":"context","type":"orchestrationTrigger","direction":"in"}]}`,
	"Act":  `{"bindings":[{"name":"input","type":"activityTrigger","direction":"in"}]}`,
	"Ent":  `{"bindings":[{"name":"context","type":"entityTrigger","direction":"in"}]}`,
}

// writeFaultAppFunctions adds the function.json files of faultapp's
// misbehaving functions to the app folder root.
func writeFaultAppFunctions(t *testing.T, root string, names []string) {
	t.Helper()
	for _, name := range names {
		def := ""
		for prefix, d := range faultAppFunctions {
			if strings.HasPrefix(name, prefix) {
				def = d
			}
		}
		dir := filepath.Join(root, "functions", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "function.json"), []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hostStatusState reads GET /admin/host/status's state.
func hostStatusState(ctx context.Context, base string) (string, error) {
	code, b, _, err := call(ctx, "GET", base+"/admin/host/status", nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("/admin/host/status: %d %s", code, b)
	}
	var st struct {
		State string `json:"state"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return "", fmt.Errorf("/admin/host/status: %w", err)
	}
	return st.State, nil
}

// TestFaultyCodeBesideGoodOnes runs one host process of faultapp (the
// sample app plus misbehaving functions) on Azurite and starts, at the
// same time, well-behaved HelloSequence instances and orchestrators that
// start goroutines, block for ever, exceed the action limit, panic, return
// a huge output, call a panicking activity and call a panicking entity
// operation. The process must stay up (same PID, /admin/host/status
// answers Running), every good instance must complete with its output,
// every bad one must end Failed with the reason docs/guards.md and
// docs/reliability.md give, and the host must go on serving new starts.
func TestFaultyCodeBesideGoodOnes(t *testing.T) {
	dir := t.TempDir()
	bin := buildApp(t, dir, "./host/failover/internal/faultapp")
	az, err := azuritetest.Start(azuritetest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Azurite is required for this test and could not be started: %v", err)
	}
	t.Cleanup(az.Stop)
	root := filepath.Join(dir, "app")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := []struct{ name, input, reason string }{
		{"OrchGoroutines", "", "was called from a goroutine other than the orchestrator's own"},
		{"OrchBlock", "", "did not yield within 3s"},
		{"OrchTooMany", "", "Maximum amount of orchestration actions (20) has been reached"},
		{"OrchPanic", "", "panic: orchestrator bug"},
		{"OrchHugeOutput", "8", "FUNCHOST_MAX_ORCHESTRATION_OUTPUT_BYTES"},
		{"OrchCallsPanic", "", "activity 'ActPanic' (task 0) failed: panic: activity bug"},
		{"OrchEntityPanic", "", `operation "Boom" failed: panic: entity bug`},
	}
	names := []string{"ActPanic", "EntFaulty"}
	for _, b := range bad {
		names = append(names, b.name)
	}
	writeScriptRoot(t, root, appSettings{
		hub: fmt.Sprintf("Misbehave%08x", rand.Uint32()), connection: az.ConnectionString(),
		durable: map[string]any{
			"maxConcurrentOrchestratorFunctions": 8, "maxConcurrentActivityFunctions": 8,
			"maxOrchestrationActions": 20, "orchestratorYieldTimeout": "00:00:03",
		},
		values: map[string]string{"FUNCHOST_MAX_ORCHESTRATION_OUTPUT_BYTES": "1048576"},
	})
	writeFaultAppFunctions(t, root, names)
	h := startHost(t, "A", bin, root, t.TempDir())
	t.Cleanup(func() {
		if t.Failed() {
			h.dump(t)
		}
	})
	pid := h.cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// Good and bad instances interleaved, two of each bad one.
	var good []string
	for round := range 2 {
		for i, b := range bad {
			g := fmt.Sprintf("good-%d-%d", round, i)
			good = append(good, g)
			if err := startOrchestration(ctx, h.base, "HelloSequence", g, nil); err != nil {
				t.Fatal(err)
			}
			var in []byte
			if b.input != "" {
				in = []byte(b.input)
			}
			if err := startOrchestration(ctx, h.base, b.name, fmt.Sprintf("bad-%s-%d", b.name, round), in); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitAll := func(what string, ids []string, check func(id string, s *status) error) {
		t.Helper()
		waitFor(t, 3*time.Minute, what, func() error {
			for _, id := range ids {
				s, err := getStatus(ctx, h.base, id)
				if err != nil {
					return err
				}
				switch s.RuntimeStatus {
				case "Pending", "Running":
					return fmt.Errorf("%w: %s is %s", errNotYet, id, s.RuntimeStatus)
				}
				if err := check(id, s); err != nil {
					t.Fatal(err)
				}
			}
			return nil
		}, nil, h)
	}
	completedHello := func(id string, s *status) error {
		if s.RuntimeStatus != "Completed" || compact(s.Output) != helloOutput {
			return fmt.Errorf("good instance %s ended %s with output %s", id, s.RuntimeStatus, s.Output)
		}
		return nil
	}
	waitAll("every good instance completed", good, completedHello)
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			for round := range 2 {
				id := fmt.Sprintf("bad-%s-%d", b.name, round)
				waitAll(id+" ended", []string{id}, func(id string, s *status) error {
					var out string // the failure message
					if err := json.Unmarshal(s.Output, &out); err != nil {
						out = string(s.Output)
					}
					if s.RuntimeStatus != "Failed" || !strings.Contains(out, b.reason) {
						return fmt.Errorf("%s ended %s, want Failed with %q; output %.1500s", id, s.RuntimeStatus, b.reason, s.Output)
					}
					return nil
				})
			}
		})
	}

	// The same process still serves: status, and new starts complete.
	if !h.alive() || h.cmd.Process.Pid != pid {
		t.Fatalf("the host process %d is gone (%v)", pid, h.exitErr())
	}
	if st, err := hostStatusState(ctx, h.base); err != nil || st != "Running" {
		t.Fatalf("host status %q, %v; want Running", st, err)
	}
	var after []string
	for i := range 5 {
		id := fmt.Sprintf("after-%d", i)
		after = append(after, id)
		if err := startOrchestration(ctx, h.base, "HelloSequence", id, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitAll("the starts after the misbehaviour completed", after, completedHello)
	if !h.alive() {
		t.Fatalf("the host process exited (%v)", h.exitErr())
	}
}
