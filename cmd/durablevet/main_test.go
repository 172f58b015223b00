package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testdata is the analyzer's test module (it uses the repository's
// bindings through a replace directive).
const testdata = "determinism/testdata"

// buildTool compiles the command once per test run.
func buildTool(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "durablevet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// run runs a command in the test module, offline, and returns its combined
// output and exit code.
func run(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = testdata
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=", "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	default:
		t.Fatalf("%s %v: %v", name, args, err)
		return "", -1
	}
}

// TestCommand checks the command's contract in both modes: one
// file:line:col: message line per finding and a non-zero exit status when
// there are findings, nothing and status 0 on clean code.
func TestCommand(t *testing.T) {
	bin := buildTool(t)
	finding := regexp.MustCompile(`^\S+\.go:\d+:\d+: \S.* → .+: .+$`)
	tests := []struct {
		name      string
		args      []string
		tool      string // "" runs the command itself, "vet" runs go vet -vettool
		wantLines []string
		wantClean bool
	}{
		{name: "standalone findings", args: []string{"./helpers"},
			wantLines: []string{
				"helpers/helpers.go:16:7: HelloSequence → formatGreeting → time.Now: orchestrator code must not read the clock; use ctx.CurrentUTCDateTime()",
				"helpers/helpers.go:18:7: HelloSequence → util.Stamp → time.Now: ",
			}},
		{name: "standalone clean", args: []string{"./negatives"}, wantClean: true},
		{name: "vet findings", tool: "vet", args: []string{"./helpers"},
			wantLines: []string{
				"helpers/helpers.go:19:7: HelloSequence → util.Region → util.lookup → os.Getenv: ",
			}},
		{name: "vet clean", tool: "vet", args: []string{"./negatives"}, wantClean: true},
		// -io-packages adds a client package to the I/O list, in both modes.
		{name: "standalone without -io-packages", args: []string{"./ioflag"}, wantClean: true},
		{name: "standalone -io-packages", args: []string{"-io-packages=example.com/dvtest/ioflag/kv", "./ioflag"},
			wantLines: []string{
				"ioflag/ioflag.go:11:9: Lookup → kv.Get: orchestrator code must not call network, storage or database clients; do it in an activity (ctx.CallActivity)",
			}},
		// go vet passes package facts only from direct imports: the
		// implementation in a package imported through another is still
		// seen.
		{name: "vet follows interfaces", tool: "vet", args: []string{"./ifaces"},
			wantLines: []string{
				"ifaces/ifaces.go:105:6: Service.Run → Pinger.Ping → deep.Pinger.Ping → time.Now: ",
				"ifaces/ifaces.go:100:9: Service.Run → Fetcher.Fetch → impl.httpFetcher.Fetch → http.Get: ",
			}},
		{name: "vet -io-packages", tool: "vet", args: []string{"-io-packages=example.com/dvtest/ioflag/kv", "./ioflag"},
			wantLines: []string{"ioflag/ioflag.go:11:9: Lookup → kv.Get: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out string
			var code int
			if tt.tool == "vet" {
				out, code = run(t, "go", append([]string{"vet", "-vettool=" + bin}, tt.args...)...)
			} else {
				out, code = run(t, bin, tt.args...)
			}
			if tt.wantClean {
				if code != 0 || strings.TrimSpace(out) != "" {
					t.Fatalf("exit %d, output:\n%s\nwant exit 0 and no output", code, out)
				}
				return
			}
			if code == 0 {
				t.Fatalf("exit 0 with findings; output:\n%s", out)
			}
			lines := 0
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if strings.HasPrefix(l, "#") {
					continue // go vet's package header
				}
				lines++
				if !finding.MatchString(l) {
					t.Errorf("line %q is not file:line:col: message", l)
				}
			}
			if lines == 0 {
				t.Errorf("no findings printed")
			}
			for _, want := range tt.wantLines {
				if !containsFinding(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// containsFinding reports whether a line of out contains want starting at
// a path boundary (the tools print absolute or relative paths).
func containsFinding(out, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, want); i >= 0 && (i == 0 || l[i-1] == '/') {
			return true
		}
	}
	return false
}
