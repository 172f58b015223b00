package host

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/funchost/funchost/host/internal/hosttest"
)

// TestMain (in azurite_test.go) runs Main instead of the tests when
// envRunMain is "1", with the arguments in envMainArgs.
const (
	envRunMain  = "FUNCHOST_HOST_TEST_RUN_MAIN"
	envMainArgs = "FUNCHOST_HOST_TEST_MAIN_ARGS"
)

// mainCommand returns the test binary set up to run Main.
func mainCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(),
		envRunMain+"=1",
		envMainArgs+"="+strings.Join(args, " "),
		"AzureFunctionsJobHost__extensions__durableTask__storageProvider__type=memory",
		"AzureFunctionsJobHost__extensions__durableTask__localRpcEndpointEnabled=false",
		SettingStrictFunctions+"=true",
	)
	return cmd
}

func freePort(t *testing.T) int { return hosttest.FreePort(t) }

func TestMainCommandStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	cmd := mainCommand(t, "--script-root", repoRoot(t), "--port", strconv.Itoa(port), "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	started := false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "{") {
			t.Errorf("--log-format json wrote a non-JSON line: %q", line)
		}
		if strings.Contains(line, `"msg":"Host started"`) {
			started = true
			break
		}
	}
	if !started {
		t.Fatal("the host never logged that it started")
	}
	runHelloSequence(t, "http://127.0.0.1:"+strconv.Itoa(port))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"msg":"Host stopped"`) {
			stopped = true
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v (want status 0)", err)
	}
	if !stopped {
		t.Error("the host did not log its graceful stop")
	}
}

func TestMainCommandStartupError(t *testing.T) {
	t.Parallel()
	root := writeApp(t, `{"version":"2.0"}`, map[string]string{
		"HttpStart": `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"everyone"}]}`,
	})
	out, err := mainCommand(t, "--script-root", root, "--port", strconv.Itoa(freePort(t))).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1; output:\n%s", err, out)
	}
	text := string(out)
	if !strings.HasPrefix(text, "funchost: ") || strings.Count(text, "funchost: ") != 1 {
		t.Errorf("want one funchost: message, got:\n%s", text)
	}
	if !strings.Contains(text, filepath.Join("functions", "HttpStart", "function.json")) || !strings.Contains(text, `"bindings[0].authLevel"`) {
		t.Errorf("message does not name the file and field:\n%s", text)
	}
}
