// Package azuritetest starts a private Azurite for tests.
//
// Each test binary gets its own Azurite on ports the OS picks, so parallel
// test packages never collide. Tests call ConnectionString(t); a package's
// TestMain calls Main(m) so that the emulator is stopped when the package's
// tests end. When FUNCHOST_TEST_STORAGE_CONNECTION is set, tests use that
// connection string (a real storage account) instead.
//
// A test that needs Azurite fails when Azurite cannot be started; it never
// skips.
package azuritetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvConnection names the environment variable that points tests at a real
// storage account instead of a private Azurite.
const EnvConnection = "FUNCHOST_TEST_STORAGE_CONNECTION"

// AccountName and AccountKey are Azurite's well-known development account.
const (
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Options configure a Server.
type Options struct {
	// Dir, when set, makes Azurite persist its data there (disk mode), so a
	// restarted server keeps its data. Empty: in-memory.
	Dir string
	// Log, when set, receives Azurite's output.
	Log io.Writer
}

// Server is a running Azurite process.
type Server struct {
	opts                           Options
	BlobPort, QueuePort, TablePort int
	cmd                            *exec.Cmd
	done                           chan struct{}
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// ConnectionString returns a connection string for the package's shared
// Azurite, starting it on first use, or the real account named by
// FUNCHOST_TEST_STORAGE_CONNECTION. It fails the test when Azurite cannot
// be started.
func ConnectionString(t testing.TB) string {
	t.Helper()
	if cs := os.Getenv(EnvConnection); cs != "" {
		return cs
	}
	sharedOnce.Do(func() { shared, sharedErr = Start(Options{}) })
	if sharedErr != nil {
		t.Fatalf("azuritetest: Azurite is required for this test and could not be started: %v", sharedErr)
	}
	return shared.ConnectionString()
}

// Main runs the package's tests and stops the shared Azurite afterwards. Use
// it from TestMain: func TestMain(m *testing.M) { azuritetest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// Start launches a new Azurite process and waits until all three services
// listen.
func Start(opts Options) (*Server, error) {
	s := &Server{opts: opts}
	if err := s.start(0, 0, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// ConnectionString returns the server's connection string.
func (s *Server) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"+
		"BlobEndpoint=http://127.0.0.1:%d/%s;QueueEndpoint=http://127.0.0.1:%d/%s;TableEndpoint=http://127.0.0.1:%d/%s;",
		AccountName, AccountKey, s.BlobPort, AccountName, s.QueuePort, AccountName, s.TablePort, AccountName)
}

// Stop stops the server gracefully (SIGTERM, then SIGKILL after 10 s).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
}

// Restart stops the server and starts it again on the same ports. With
// Options.Dir set, the data survives.
func (s *Server) Restart() error {
	s.Stop()
	return s.start(s.BlobPort, s.QueuePort, s.TablePort)
}

var listening = regexp.MustCompile(`Azurite (Blob|Queue|Table) service is successfully listening at http://[^:]+:(\d+)`)

func (s *Server) start(blob, queue, table int) error {
	bin, err := Binary()
	if err != nil {
		return err
	}
	args := []string{"--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
		"--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
		"--blobPort", fmt.Sprint(blob), "--queuePort", fmt.Sprint(queue), "--tablePort", fmt.Sprint(table)}
	if s.opts.Dir != "" {
		args = append(args, "--location", s.opts.Dir)
	} else {
		args = append(args, "--inMemoryPersistence")
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if s.opts.Dir != "" {
		cmd.Dir = s.opts.Dir
	} else {
		cmd.Dir = os.TempDir()
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("azuritetest: starting %s: %w", bin, err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	ports := make(chan [2]string, 3)
	var tail strings.Builder
	var tailMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if m := listening.FindStringSubmatch(line); m != nil {
				ports <- [2]string{m[1], m[2]}
			}
			tailMu.Lock()
			if tail.Len() < 4096 {
				tail.WriteString(line + "\n")
			}
			tailMu.Unlock()
			if s.opts.Log != nil {
				fmt.Fprintln(s.opts.Log, line)
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.After(60 * time.Second)
	for got := 0; got < 3; {
		select {
		case p := <-ports:
			var n int
			fmt.Sscan(p[1], &n)
			switch p[0] {
			case "Blob":
				s.BlobPort = n
			case "Queue":
				s.QueuePort = n
			case "Table":
				s.TablePort = n
			}
			got++
		case <-s.done:
			tailMu.Lock()
			defer tailMu.Unlock()
			return fmt.Errorf("azuritetest: Azurite exited during start-up: %s", tail.String())
		case <-deadline:
			s.Stop()
			return errors.New("azuritetest: Azurite did not report its ports within 60 s")
		}
	}
	return waitListening(s.BlobPort, s.QueuePort, s.TablePort)
}

func waitListening(ports ...int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, p := range ports {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("azuritetest: port %d does not accept connections: %w", p, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// Binary returns the path of the pinned Azurite, installing it with
// azurite/install.sh when missing.
func Binary() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "azurite", "node_modules", ".bin", "azurite")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	install := exec.Command(filepath.Join(root, "azurite", "install.sh"))
	install.Stdout, install.Stderr = os.Stderr, os.Stderr
	if err := install.Run(); err != nil {
		return "", fmt.Errorf("azuritetest: Azurite is not installed and azurite/install.sh failed: %w", err)
	}
	return bin, nil
}

// RepoRoot finds the funchost module root by walking up from the working
// directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/funchost/funchost\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("azuritetest: cannot find the funchost module root above the working directory")
		}
		dir = parent
	}
}
