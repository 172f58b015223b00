package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// The tests drive the real sample app binary, built once per test run.
var (
	sampleBin string // the built ./samples
	repoRoot  string // the module root: the sample app's folder

	azOnce sync.Once
	az     *azuritetest.Server
	azErr  error
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	root, err := azuritetest.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cli tests:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "funchost-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cli tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "samples")
	build := exec.Command("go", "build", "-o", bin, "./samples")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cli tests: building the sample app: %v\n%s", err, out)
		return 1
	}
	sampleBin, repoRoot = bin, root
	code := m.Run()
	if az != nil {
		az.Stop()
	}
	return code
}

// azuriteConnection returns the connection string of the package's private
// Azurite (started on first use) or of FUNCHOST_TEST_STORAGE_CONNECTION's
// account; the test fails when neither is available.
func azuriteConnection(t *testing.T) string {
	t.Helper()
	if cs := os.Getenv(azuritetest.EnvConnection); cs != "" {
		return cs
	}
	azOnce.Do(func() { az, azErr = azuritetest.Start(azuritetest.Options{}) })
	if azErr != nil {
		t.Fatalf("Azurite is required for this test and could not be started: %v", azErr)
	}
	return az.ConnectionString()
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// command returns the sample binary set up with args and env on top of
// the test's environment.
func command(env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(sampleBin, args...)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// run runs the binary to completion with stdin.
func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	cmd := command(env, args...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %v: %v", args, err)
	}
	return r
}

// mustRun runs the binary and fails the test unless it exits 0.
func mustRun(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	r := run(t, env, "", args...)
	if r.code != 0 {
		t.Fatalf("%v: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}
