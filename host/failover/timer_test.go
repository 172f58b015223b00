package failover

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// timerRunRe matches the invocation log line of one timer run and
// captures its occurrence ("Timer fired at <time>").
var timerRunRe = regexp.MustCompile(`Executing 'Functions\.BackgroundJobTimer' \(Reason='Timer fired at ([^']+)'`)

// timerRuns returns the occurrences p ran, in log order.
func (p *hostProc) timerRuns() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if m := timerRunRe.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// TestTimerOnceAcrossTwoProcesses runs two processes of the sample app
// on one storage account with the same host ID and the sample's
// BackgroundJobTimer firing every second. Each occurrence must run on
// exactly one process (the holder of the listener's blob lease); when that
// process shuts down gracefully it releases the lease, the other takes the
// timer over, and still no occurrence runs twice.
func TestTimerOnceAcrossTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	bin := buildSamples(t, dir)
	az, err := azuritetest.Start(azuritetest.Options{})
	if err != nil {
		t.Fatalf("Azurite is required for this test and could not be started: %v", err)
	}
	t.Cleanup(az.Stop)
	logDir := t.TempDir()
	root := filepath.Join(dir, "app")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScriptRoot(t, root, appSettings{hub: fmt.Sprintf("Timers%08x", rand.Uint32()), connection: az.ConnectionString()})
	everySecond := `{"bindings":[{"name":"myTimer","type":"timerTrigger","direction":"in","schedule":"* * * * * *"},` +
		`{"name":"starter","type":"durableClient","direction":"in"}]}`
	if err := os.WriteFile(filepath.Join(root, "functions", "BackgroundJobTimer", "function.json"), []byte(everySecond), 0o644); err != nil {
		t.Fatal(err)
	}

	a := startHost(t, "A", bin, root, logDir)
	b := startHost(t, "B", bin, root, logDir)
	t.Cleanup(func() {
		if t.Failed() {
			a.dump(t)
			b.dump(t)
		}
	})
	waitFor(t, time.Minute, "four timer runs", func() error {
		if n := len(a.timerRuns()) + len(b.timerRuns()); n < 4 {
			return fmt.Errorf("%w: %d runs", errNotYet, n)
		}
		return nil
	}, nil, a, b)
	active, standby := a, b
	if len(b.timerRuns()) > 0 {
		active, standby = b, a
	}
	if n := len(standby.timerRuns()); n != 0 {
		t.Fatalf("both processes run the timer: %s %v, %s %v", a.name, a.timerRuns(), b.name, b.timerRuns())
	}
	if err := active.stop(30 * time.Second); err != nil {
		t.Fatalf("stopping host %s: %v", active.name, err)
	}
	before := len(active.timerRuns())
	waitFor(t, time.Minute, "the other process takes the timer over", func() error {
		if n := len(standby.timerRuns()); n < 2 {
			return fmt.Errorf("%w: %d runs on %s", errNotYet, n, standby.name)
		}
		return nil
	}, nil, standby)

	seen := map[string]string{}
	for _, p := range []*hostProc{active, standby} {
		for _, at := range p.timerRuns() {
			if other, dup := seen[at]; dup {
				t.Fatalf("occurrence %s ran on %s and on %s", at, other, p.name)
			}
			seen[at] = p.name
		}
	}
	t.Logf("%s ran %d occurrences, then shut down; %s ran the next %d: %s",
		active.name, before, standby.name, len(standby.timerRuns()), strings.Join(standby.timerRuns(), ", "))
}
