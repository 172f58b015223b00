package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/durableclient"
)

// hubEnv is the environment that points the sample app at a fresh task
// hub on the package's Azurite, with its background timer off (it would
// add instances).
func hubEnv(t *testing.T, prefix string) map[string]string {
	t.Helper()
	return map[string]string{
		"AzureWebJobsStorage": azuriteConnection(t),
		"AzureFunctionsJobHost__extensions__durableTask__hubName":                                  fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1_000_000_000),
		"AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval": "00:00:01",
		"AzureFunctionsJobHost__extensions__durableTask__localRpcEndpointEnabled":                  "false",
		"AzureWebJobs.BackgroundJobTimer.Disabled":                                                 "true",
	}
}

// inProcessClient opens the hub of env in the test process, as the CLI
// does, to set up instances without a round trip per instance through the
// binary.
func inProcessClient(t *testing.T, env map[string]string) *durableclient.Client {
	t.Helper()
	s, err := durable.LoadSettings(repoRoot, config.NewMapEnv(env), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hub, err := durable.OpenTaskHub(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	return durable.NewClient(hub, s, durable.Links{})
}

// startMany starts n instances of orchestrator named prefix-000… with 8
// starters at once.
func startMany(t *testing.T, c *durableclient.Client, orchestrator, prefix string, n int) {
	t.Helper()
	ids := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 8 {
		wg.Go(func() {
			for id := range ids {
				if _, err := c.StartNew(context.Background(), orchestrator, id, bindings.WithInstanceID(id)); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		ids <- fmt.Sprintf("%s-%04d", prefix, i)
	}
	close(ids)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// listJSON runs get-instances with args and -o json and decodes it.
func listJSON(t *testing.T, env map[string]string, args ...string) ([]dfwire.Status, string) {
	t.Helper()
	r := mustRun(t, env, append([]string{"durable", "get-instances", "-o", "json"}, args...)...)
	var doc struct {
		Instances         []dfwire.Status `json:"instances"`
		ContinuationToken *string         `json:"continuationToken"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("get-instances -o json is not one JSON document: %v\n%s", err, r.stdout)
	}
	if doc.ContinuationToken == nil || doc.Instances == nil {
		t.Fatalf("get-instances -o json lacks instances or continuationToken:\n%s", r.stdout)
	}
	return doc.Instances, *doc.ContinuationToken
}

// TestDurableOnStorage works on a task hub directly on storage, with no
// host running: 250 pending instances to filter and page through, the
// status of one, control messages, the errors and exit codes, and deleting
// the hub.
func TestDurableOnStorage(t *testing.T) {
	t.Parallel()
	env := hubEnv(t, "CliStore")
	c := inProcessClient(t, env)
	before := time.Now().UTC().Add(-time.Second)
	startMany(t, c, "HelloSequence", "page", 250)
	startMany(t, c, "HelloSequence", "other", 5)

	// Paging by hand: 100 + 100 + 50, every ID once.
	seen := map[string]bool{}
	token := ""
	for i, want := range []int{100, 100, 50} {
		args := []string{"--id-prefix", "page-", "--top", "100"}
		if token != "" {
			args = append(args, "--continuation-token", token)
		}
		var list []dfwire.Status
		list, token = listJSON(t, env, args...)
		if len(list) != want || (token == "") != (i == 2) {
			t.Fatalf("page %d: %d instances, token %q; want %d and a token on all but the last", i, len(list), token, want)
		}
		for _, s := range list {
			if !strings.HasPrefix(s.InstanceID, "page-") || seen[s.InstanceID] || s.RuntimeStatus != "Pending" || s.Name != "HelloSequence" {
				t.Fatalf("page %d: unexpected or repeated %+v", i, s)
			}
			seen[s.InstanceID] = true
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"all pages", []string{"--all", "--top", "60"}, 255},
		{"prefix", []string{"--all", "--id-prefix", "other-"}, 5},
		{"status, any case", []string{"--all", "--runtime-status", "pending,Running"}, 255},
		{"status none", []string{"--all", "--runtime-status", "Completed"}, 0},
		{"created after", []string{"--all", "--created-after", before.Format(time.RFC3339)}, 255},
		{"created before", []string{"--all", "--created-before", before.Format(time.RFC3339)}, 0},
		{"created ago", []string{"--all", "--created-after", "1h", "--id-prefix", "other-"}, 5},
	} {
		if list, _ := listJSON(t, env, tc.args...); len(list) != tc.want {
			t.Errorf("%s: %d instances, want %d", tc.name, len(list), tc.want)
		}
	}
	table := mustRun(t, env, "durable", "get-instances", "--id-prefix", "other-", "--show-input").stdout
	for _, want := range []string{"INSTANCE ID", "other-0004", "Pending", `"other-0000"`, "5 instance(s)"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	var st dfwire.Status
	out := mustRun(t, env, "durable", "get-runtime-status", "--id", "page-0007", "--show-input", "-o", "json").stdout
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.InstanceID != "page-0007" || string(st.Input) != `"page-0007"` {
		t.Errorf("get-runtime-status -o json: %v %+v\n%s", err, st, out)
	}
	fields := mustRun(t, env, "durable", "get-runtime-status", "--id", "page-0007").stdout
	if !strings.Contains(fields, "Status:") || !strings.Contains(fields, "Pending") || strings.Contains(fields, "Input:") {
		t.Errorf("get-runtime-status table:\n%s", fields)
	}
	mustRun(t, env, "durable", "terminate", "--id", "page-0008", "--reason", "test")
	mustRun(t, env, "durable", "start-new", "--function-name", "Echo", "--input", `{"a":1}`, "--id", "echo-1")
	if s, err := c.GetStatus(context.Background(), "echo-1", bindings.StatusOptions{}); err != nil || string(s.Input) != `{"a":1}` {
		t.Errorf("start-new on storage: %v %+v", err, s)
	}

	testStorageErrors(t, env)

	testWatch(t, env)

	// delete-task-hub asks first; a refusal changes nothing.
	if r := run(t, env, "no\n", "durable", "delete-task-hub"); r.code != ExitUsage || !strings.Contains(r.stderr, "[y/N]") {
		t.Fatalf("refused delete: exit %d, stderr %q", r.code, r.stderr)
	}
	if list, _ := listJSON(t, env, "--id-prefix", "other-"); len(list) != 5 {
		t.Fatalf("after a refused delete: %d instances, want 5", len(list))
	}
	if r := run(t, env, "y\n", "durable", "delete-task-hub"); r.code != ExitOK || !strings.Contains(r.stdout, "Deleted task hub") {
		t.Fatalf("delete: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, env, "", "durable", "get-runtime-status", "--id", "page-0007"); r.code != ExitNotFound {
		t.Errorf("status after delete: exit %d, want 3; %s", r.code, r.stderr)
	}
}

// testWatch runs get-instances --watch, reads two refreshes (one JSON
// document each) and stops it with SIGINT, which ends it normally.
func testWatch(t *testing.T, env map[string]string) {
	cmd := command(env, "durable", "get-instances", "--id-prefix", "other-", "--watch", "--interval", "100ms", "-o", "json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	dec := json.NewDecoder(stdout)
	for i := range 2 {
		var doc struct {
			Instances []dfwire.Status `json:"instances"`
		}
		if err := dec.Decode(&doc); err != nil || len(doc.Instances) != 5 {
			t.Fatalf("watch refresh %d: %v, %d instances", i, err, len(doc.Instances))
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if err := cmd.Wait(); err != nil {
		t.Errorf("watch after SIGINT: %v, want exit 0", err)
	}
}

// testStorageErrors checks the errors and exit codes of mistakes on
// storage.
func testStorageErrors(t *testing.T, env map[string]string) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"status of a missing instance", []string{"durable", "get-runtime-status", "--id", "nope"}, ExitNotFound, `no instance "nope"`},
		{"history of a missing instance", []string{"durable", "get-history", "--id", "nope"}, ExitNotFound, "get-instances lists them"},
		{"terminate a missing instance", []string{"durable", "terminate", "--id", "nope"}, ExitNotFound, "nope"},
		{"missing --id", []string{"durable", "suspend"}, ExitUsage, "--id is required"},
		{"unknown orchestrator", []string{"durable", "start-new", "--function-name", "Nope"}, ExitUsage, "no orchestrator function"},
		{"input not JSON", []string{"durable", "start-new", "--function-name", "Echo", "--input", "hello"}, ExitUsage, "is not JSON"},
		{"exists", []string{"durable", "start-new", "--function-name", "Echo", "--id", "page-0001"}, ExitError, "exists and has not finished"},
		{"purge a running instance", []string{"durable", "purge-history", "--id", "page-0001", "--yes"}, ExitError, "terminate it first"},
		{"purge a running status", []string{"durable", "purge-history", "--runtime-status", "Running"}, ExitUsage, "only finished instances"},
		{"bad status", []string{"durable", "get-instances", "--runtime-status", "Done"}, ExitUsage, "use Pending, Running"},
		{"bad time", []string{"durable", "get-instances", "--created-after", "yesterday"}, ExitUsage, "how long ago"},
		{"key without url", []string{"durable", "get-instances", "--key", "k"}, ExitUsage, "--key is for --url"},
		{"unknown durable command", []string{"durable", "get-everything"}, ExitUsage, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, env, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.inStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.inStderr)
			}
		})
	}
}
