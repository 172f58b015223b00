package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/internal/hosttest"
)

// serve starts the sample app binary on env's hub with a master key and
// returns its base URL; the host is stopped (SIGTERM) when the test ends.
func serve(t *testing.T, env map[string]string, key string) string {
	t.Helper()
	port := strconv.Itoa(hosttest.FreePort(t))
	hostEnv := map[string]string{"FUNCTIONS_MASTER_KEY": key}
	for k, v := range env {
		hostEnv[k] = v
	}
	cmd := command(hostEnv, "--script-root", repoRoot, "--port", port, "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	sc.Buffer(nil, 1<<20)
	started := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"msg":"Host started"`) {
			started = true
			break
		}
	}
	if !started {
		_ = cmd.Process.Kill()
		t.Fatal("the host never logged that it started")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	t.Cleanup(func() { stopHost(t, cmd) })
	return "http://127.0.0.1:" + port
}

func stopHost(t *testing.T, cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("host exit after SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Error("the host did not stop within 60 s of SIGTERM")
	}
}

// statusOf reads an instance's status through the CLI.
func statusOf(t *testing.T, env map[string]string, args ...string) dfwire.Status {
	t.Helper()
	r := mustRun(t, env, append([]string{"durable", "get-runtime-status", "-o", "json", "--show-output"}, args...)...)
	var st dfwire.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("get-runtime-status -o json: %v\n%s", err, r.stdout)
	}
	return st
}

// waitStatus polls an instance until it has status want.
func waitStatus(t *testing.T, env map[string]string, id, want string, via ...string) dfwire.Status {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := statusOf(t, env, append([]string{"--id", id}, via...)...)
		if st.RuntimeStatus == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s is %s after 60 s, want %s", id, st.RuntimeStatus, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// actionID runs a command with -o json and returns the id it reports.
func actionID(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	r := mustRun(t, env, append(args, "-o", "json")...)
	var a actionResult
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || a.ID == "" {
		t.Fatalf("%v -o json: %v\n%s", args, err, r.stdout)
	}
	return a.ID
}

// TestDurableThroughHost runs the commands through a running host's
// management API (--url, --key) and checks what they did on both paths.
func TestDurableThroughHost(t *testing.T) {
	t.Parallel()
	env := hubEnv(t, "CliHost")
	base := serve(t, env, "test-master-key")
	via := []string{"--url", base, "--key", "test-master-key"}
	cmd := func(args ...string) []string { return append(append([]string{"durable"}, args...), via...) }

	id := actionID(t, env, cmd("start-new", "--function-name", "HelloSequence")...)
	st := waitStatus(t, env, id, "Completed", via...)
	if !strings.Contains(string(st.Output), "Hello Tokyo!") {
		t.Errorf("HelloSequence output %s", st.Output)
	}
	hist := mustRun(t, env, cmd("get-history", "--id", id, "-o", "json")...).stdout
	var events []dfwire.HistoryEvent
	if err := json.Unmarshal([]byte(hist), &events); err != nil || len(events) < 4 {
		t.Fatalf("get-history -o json: %v, %d events\n%s", err, len(events), hist)
	}
	if events[0].EventType != "ExecutionStarted" || events[len(events)-1].EventType != "ExecutionCompleted" {
		t.Errorf("history runs %s … %s", events[0].EventType, events[len(events)-1].EventType)
	}
	// The same history read on storage, as a table.
	table := mustRun(t, env, "durable", "get-history", "--id", id).stdout
	for _, want := range []string{"TaskCompleted", "SayHello", `result "Hello Tokyo!"`, "ExecutionCompleted"} {
		if !strings.Contains(table, want) {
			t.Errorf("history table lacks %q:\n%s", want, table)
		}
	}

	// An approval: suspend, resume, raise the event it waits for.
	wid := actionID(t, env, cmd("start-new", "--function-name", "WaitForApproval", "--id", "approval-1")...)
	waitStatus(t, env, wid, "Running", via...)
	mustRun(t, env, cmd("suspend", "--id", wid, "--reason", "checking")...)
	waitStatus(t, env, wid, "Suspended", via...)
	mustRun(t, env, cmd("resume", "--id", wid)...)
	waitStatus(t, env, wid, "Running", via...)
	mustRun(t, env, cmd("raise-event", "--id", wid, "--event-name", "Approval", "--event-data", `{"ok":true}`)...)
	if st := waitStatus(t, env, wid, "Completed", via...); compact(st.Output) != `{"ok":true}` {
		t.Errorf("approval output %s", st.Output)
	}

	// Terminate, restart under a new ID, rewind a failed instance.
	tid := actionID(t, env, cmd("start-new", "--function-name", "WaitForApproval")...)
	waitStatus(t, env, tid, "Running", via...)
	mustRun(t, env, cmd("terminate", "--id", tid, "--reason", "no longer needed")...)
	waitStatus(t, env, tid, "Terminated", via...)
	rid := actionID(t, env, cmd("restart", "--id", id)...)
	if rid == id {
		t.Errorf("restart kept the ID %s", id)
	}
	waitStatus(t, env, rid, "Completed", via...)
	fid := actionID(t, env, cmd("start-new", "--function-name", "FailAlways")...)
	waitStatus(t, env, fid, "Failed", via...)
	mustRun(t, env, cmd("rewind", "--id", fid, "--reason", "retry")...)

	testHostErrors(t, env, base, wid, cmd)

	if list, _ := listJSON(t, env, append([]string{"--all", "--runtime-status", "Completed"}, via...)...); len(list) < 3 {
		t.Errorf("completed instances through the host: %d, want at least 3", len(list))
	}
	testPurgeProgress(t, env)
}

// testPurgeProgress completes 1,000 instances on the host's hub and purges
// them on storage: a refused prompt changes nothing; the purge shows its
// progress and reports the count.
func testPurgeProgress(t *testing.T, env map[string]string) {
	c := inProcessClient(t, env)
	startMany(t, c, "Echo", "bulk", 1000)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		page, err := c.ListInstances(context.Background(), bindings.InstanceQuery{InstanceIDPrefix: "bulk-", PageSize: 1000,
			RuntimeStatus: []bindings.RuntimeStatus{bindings.StatusCompleted}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Instances) == 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 1000 instances completed after 3 minutes", len(page.Instances))
		}
		time.Sleep(500 * time.Millisecond)
	}
	purge := []string{"durable", "purge-history", "--id-prefix", "bulk-", "-o", "json"}
	if r := run(t, env, "n\n", purge...); r.code != ExitUsage || !strings.Contains(r.stderr, "Purge the history of 1000 instance(s)") {
		t.Fatalf("refused purge: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := run(t, env, "", purge...); r.code != ExitUsage || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("purge with no answer: exit %d, stderr %q", r.code, r.stderr)
	}
	r := run(t, env, "yes\n", purge...)
	if r.code != ExitOK {
		t.Fatalf("purge: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res dfwire.PurgeResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.InstancesDeleted != 1000 {
		t.Errorf("purge -o json: %v %s", err, r.stdout)
	}
	if !regexp.MustCompile(`purging.*1000/1000`).MatchString(r.stderr) {
		t.Errorf("no finished progress bar on stderr:\n%q", shorten(r.stderr, 400))
	}
	if list, _ := listJSON(t, env, "--all", "--id-prefix", "bulk-"); len(list) != 0 {
		t.Errorf("%d bulk instances left after the purge", len(list))
	}
}

// compact is a JSON value without insignificant space (the CLI indents
// its output).
func compact(v json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	return b.String()
}

// testHostErrors checks the errors and exit codes of mistakes through
// the host; wid is a completed instance, cmd adds --url and --key.
func testHostErrors(t *testing.T, env map[string]string, base, wid string, cmd func(...string) []string) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"missing instance", cmd("get-runtime-status", "--id", "nope"), ExitNotFound, `no instance "nope"`},
		{"event to a finished instance", cmd("raise-event", "--id", wid, "--event-name", "Approval"), ExitError, "has finished"},
		{"rewind a completed instance", cmd("rewind", "--id", wid), ExitError, "has not failed"},
		{"unknown orchestrator", cmd("start-new", "--function-name", "Nope"), ExitError, "Nope"},
		{"wrong key", []string{"durable", "get-instances", "--url", base, "--key", "wrong"}, ExitError, "--key"},
		{"no host", []string{"durable", "get-instances", "--url", "http://127.0.0.1:1"}, ExitError, "is the host running"},
		{"delete through the API", cmd("delete-task-hub", "--yes"), ExitUsage, "no route that deletes a task hub"},
		{"unknown hub", cmd("get-instances", "--task-hub-name", "NoSuchHub"), ExitError, "NoSuchHub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, env, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.inStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.inStderr)
			}
		})
	}
}
