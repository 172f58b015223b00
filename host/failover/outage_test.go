//go:build faults

package failover

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// helloOutput is HelloSequence's output.
const helloOutput = `["Hello Tokyo!","Hello Seattle!","Hello London!"]`

// TestStorageOutageAcrossTwoHosts runs two host processes of the sample
// app on one task hub on a disk-backed Azurite and checks, end to end:
//
//   - 1,000 concurrent starts of one singleton ID, half through each host,
//     give exactly one 202 and 999 409;
//   - while starts keep coming through both hosts, Azurite is stopped for
//     a few seconds and started again: every start answered 202 completes
//     with its output (no acknowledged start is lost), the starts during
//     the outage answer 503 with Retry-After (never 500, never 202), and
//     both hosts keep running.
func TestStorageOutageAcrossTwoHosts(t *testing.T) {
	dir := t.TempDir()
	bin := buildSamples(t, dir)
	az, err := azuritetest.Start(azuritetest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Azurite is required for this test and could not be started: %v", err)
	}
	t.Cleanup(az.Stop)
	logDir := t.TempDir()
	root := filepath.Join(dir, "app")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScriptRoot(t, root, appSettings{hub: fmt.Sprintf("Outage%08x", rand.Uint32()), connection: az.ConnectionString()})
	a := startHost(t, "A", bin, root, logDir)
	b := startHost(t, "B", bin, root, logDir)
	hosts := []*hostProc{a, b}
	t.Cleanup(func() {
		if t.Failed() {
			a.dump(t)
			b.dump(t)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	t.Run("1000 racing singleton starts on two hosts", func(t *testing.T) {
		id := fmt.Sprintf("race-%08x", rand.Uint32())
		var mu sync.Mutex
		codes := map[int]int{}
		parallel(t, 100, 1000, func(i int) error {
			code, body, _, err := call(ctx, "POST", hosts[i%2].base+"/api/orchestrators/WaitForApproval/"+id, nil)
			if err != nil {
				return err
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
			if code != http.StatusAccepted && code != http.StatusConflict {
				return fmt.Errorf("start %d: %d %s", i, code, body)
			}
			return nil
		})
		if codes[202] != 1 || codes[409] != 999 {
			t.Fatalf("answers %v, want one 202 and 999 409", codes)
		}
	})

	t.Run("Azurite stopped and restarted mid-run", func(t *testing.T) {
		var (
			mu       sync.Mutex
			acked    []string
			answers  = map[int]int{}
			bad      []string
			n        atomic.Int64
			stopLoad = make(chan struct{})
			wg       sync.WaitGroup
		)
		for w := range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stopLoad:
						return
					default:
					}
					id := fmt.Sprintf("outage-%d-%d", w, n.Add(1))
					code, body, hdr, err := call(ctx, "POST", hosts[w%2].base+"/api/orchestrators/HelloSequence/"+id, nil)
					mu.Lock()
					switch {
					case err != nil:
						answers[0]++ // not answered: not acknowledged either
					case code == http.StatusAccepted:
						acked = append(acked, id)
						answers[code]++
					case code == http.StatusServiceUnavailable && hdr.Get("Retry-After") != "":
						answers[code]++
					default:
						answers[code]++
						bad = append(bad, fmt.Sprintf("%s: %d %s", id, code, body))
					}
					mu.Unlock()
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
		ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
		waitFor(t, 2*time.Minute, "40 acknowledged starts before the outage", func() error {
			if k := ackedCount(); k < 40 {
				return fmt.Errorf("%w: %d", errNotYet, k)
			}
			return nil
		}, nil, a, b)
		az.Stop()
		waitFor(t, time.Minute, "starts answered 503 during the outage", func() error {
			mu.Lock()
			defer mu.Unlock()
			if answers[http.StatusServiceUnavailable] < 4 {
				return fmt.Errorf("%w: %v", errNotYet, answers)
			}
			return nil
		}, nil, a, b)
		if err := az.Restart(); err != nil {
			t.Fatalf("restarting Azurite: %v", err)
		}
		before := ackedCount()
		waitFor(t, 2*time.Minute, "40 acknowledged starts after the outage", func() error {
			if k := ackedCount() - before; k < 40 {
				return fmt.Errorf("%w: %d", errNotYet, k)
			}
			return nil
		}, nil, a, b)
		close(stopLoad)
		wg.Wait()
		t.Logf("answers: %v (0 = no answer)", answers)
		if len(bad) > 0 {
			sort.Strings(bad)
			t.Errorf("%d starts answered neither 202 nor 503 with Retry-After:\n%v", len(bad), bad)
		}
		waitFor(t, 3*time.Minute, fmt.Sprintf("all %d acknowledged starts completed", len(acked)), func() error {
			for _, id := range acked {
				s, err := getStatus(ctx, a.base, id)
				if err != nil {
					return fmt.Errorf("acknowledged instance %s: %w", id, err)
				}
				if s.RuntimeStatus != "Completed" {
					return fmt.Errorf("%w: acknowledged instance %s is %s", errNotYet, id, s.RuntimeStatus)
				}
				if compact(s.Output) != helloOutput {
					return fmt.Errorf("acknowledged instance %s: output %s", id, s.Output)
				}
			}
			return nil
		}, nil, a, b)
	})
}
