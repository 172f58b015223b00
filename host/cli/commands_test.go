package cli

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/funchost/funchost/host/internal/hosttest"
)

func TestNormalizeArgs(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"-port", "7072", "-script-root=."}, []string{"--port", "7072", "--script-root=."}},
		{[]string{"--port", "1", "-o", "json"}, []string{"--port", "1", "-o", "json"}},
		{[]string{"-strict-functions", "-help"}, []string{"--strict-functions", "--help"}},
		{[]string{"durable", "start-new", "--input", "-port"}, []string{"durable", "start-new", "--input", "--port"}},
		{[]string{"--", "-port"}, []string{"--", "-port"}},
		{[]string{"-portx"}, []string{"-portx"}},
	} {
		if got := normalizeArgs(nil, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestExitCodes runs the binary with command lines scripts get wrong and
// checks the exit code and that the message says what to do.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
		inStdout string
	}{
		{"help", []string{"--help"}, ExitOK, "", "functions list"},
		{"functions help", []string{"functions", "list", "--help"}, ExitOK, "", "Example"},
		{"unknown command", []string{"bogus"}, ExitUsage, `unknown command "bogus"`, ""},
		{"unknown subcommand", []string{"functions", "bogus"}, ExitUsage, `unknown command "bogus" for`, ""},
		{"bad flag value", []string{"--port", "x"}, ExitUsage, "--port", ""},
		{"unknown flag", []string{"functions", "list", "--nope"}, ExitUsage, "unknown flag: --nope", ""},
		{"bad output format", []string{"functions", "list", "-o", "yaml"}, ExitUsage, "use table or json", ""},
		{"missing app folder", []string{"functions", "list", "--script-root", filepath.Join(t.TempDir(), "none")}, ExitError, "loading the app's functions", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, nil, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.inStderr) || !strings.Contains(r.stdout, tc.inStdout) {
				t.Errorf("stdout %q / stderr %q, want them to contain %q / %q", r.stdout, r.stderr, tc.inStdout, tc.inStderr)
			}
			if tc.code != ExitOK && strings.Count(r.stderr, "funchost: ") != 1 {
				t.Errorf("want one funchost: message on stderr, got:\n%s", r.stderr)
			}
		})
	}
}

// TestFunctionsList lists a small app with a function in error, as a
// table and as JSON.
func TestFunctionsList(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "host.json"), []byte(`{"version":"2.0","extensions":{"http":{"routePrefix":"x"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	hosttest.WriteFunctions(t, root, map[string]string{
		"HttpStart":     `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous","methods":["post"],"route":"go/{functionName}"},{"name":"$return","type":"http","direction":"out"}]}`,
		"HelloSequence": `{"bindings":[{"name":"context","type":"orchestrationTrigger","direction":"in"}]}`,
		"NoHandler":     `{"bindings":[{"name":"context","type":"activityTrigger","direction":"in"}]}`,
	})
	tableOut := mustRun(t, nil, "functions", "list", "--script-root", root).stdout
	for _, want := range []string{"HttpStart", "/x/go/{functionName} [POST]", "anonymous", "orchestrationTrigger", "NoHandler is in error"} {
		if !strings.Contains(tableOut, want) {
			t.Errorf("table lacks %q:\n%s", want, tableOut)
		}
	}
	if strings.Contains(tableOut, "\x1b[") {
		t.Errorf("colour escapes written to a pipe:\n%q", tableOut)
	}
	var fns []Function
	if err := json.Unmarshal([]byte(mustRun(t, nil, "functions", "list", "--script-root", root, "-o", "json").stdout), &fns); err != nil {
		t.Fatal(err)
	}
	byName := map[string]Function{}
	for _, f := range fns {
		byName[f.Name] = f
	}
	if f := byName["HttpStart"]; f.Route != "/x/go/{functionName}" || f.AuthLevel != "anonymous" || !slices.Equal(f.Methods, []string{"POST"}) || f.Trigger != "httpTrigger" {
		t.Errorf("HttpStart = %+v", f)
	}
	if f := byName["HelloSequence"]; f.Trigger != "orchestrationTrigger" || len(f.Errors) != 0 {
		t.Errorf("HelloSequence = %+v", f)
	}
	if f := byName["NoHandler"]; len(f.Errors) == 0 {
		t.Errorf("NoHandler = %+v, want it in error", f)
	}
}

// TestStartIsTheDefault serves the sample app with no command and the
// one-dash flags of the flag-package binary, then stops it with SIGTERM.
func TestStartIsTheDefault(t *testing.T) {
	t.Parallel()
	port := strconv.Itoa(hosttest.FreePort(t))
	cmd := command(map[string]string{
		"AzureFunctionsJobHost__extensions__durableTask__storageProvider__type":   "memory",
		"AzureFunctionsJobHost__extensions__durableTask__localRpcEndpointEnabled": "false",
		"AzureWebJobs.BackgroundJobTimer.Disabled":                                "true",
	}, "-script-root", repoRoot, "-port", port, "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), `"msg":"Host started"`) {
	}
	resp, err := http.Post("http://127.0.0.1:"+port+"/api/orchestrators/HelloSequence", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("start through the served app: %d, want 202", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
}
