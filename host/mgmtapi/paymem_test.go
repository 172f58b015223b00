//go:build paymem

package mgmtapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
	"github.com/funchost/funchost/storageprovider/memory"
)

// The measurement of large payloads (docs/reliability.md, "Large
// payloads"): one JSON payload of each size goes through the path a
// client drives — a start through the management API with the payload as
// input, the sample app's Echo orchestrator returning it, one status read
// with input and output — and the process's memory is reported. It is a
// measurement, not part of make test:
//
//	nice -n 19 go test -tags paymem -run TestPayloadMemory -timeout 20m -v ./host/mgmtapi
//
// FUNCHOST_PAYMEM_SIZES lists the sizes in MB (default "30,50");
// FUNCHOST_PAYMEM_PROVIDERS the providers (default "memory,azure");
// FUNCHOST_PAYMEM_PPROF=dir writes an allocation profile before and after
// each case (compare with go tool pprof -diff_base).
//
// The client side holds no copy: the request body is generated while it
// is sent and the response is checked while it is read, so every byte
// counted belongs to the server, the engine and the provider.

func init() {
	if os.Getenv("FUNCHOST_PAYMEM_PPROF") != "" {
		runtime.MemProfileRate = 16 << 10
	}
}

// genPayload is a JSON string of n bytes in all (quotes included) whose
// characters follow from their offset, so that it can be produced and
// checked without being held.
type genPayload struct{ n int64 }

const payAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/ "

func (g genPayload) at(i int64) byte {
	if i == 0 || i == g.n-1 {
		return '"'
	}
	x := uint64(i) * 0x9E3779B97F4A7C15
	x ^= x >> 29
	return payAlphabet[x%uint64(len(payAlphabet))]
}

// reader streams the payload.
func (g genPayload) reader() io.Reader { return &genReader{g: g} }

type genReader struct {
	g   genPayload
	off int64
}

func (r *genReader) Read(p []byte) (int, error) {
	if r.off >= r.g.n {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.off < r.g.n {
		p[n] = r.g.at(r.off)
		n++
		r.off++
	}
	return n, nil
}

// fieldChecker reads a JSON object as it streams past and checks that
// each of its keys is followed by the payload; it keeps only a short
// window of the text.
type fieldChecker struct {
	g      genPayload
	keys   []string // e.g. `"input":`
	found  map[string]bool
	window []byte
	key    string // the key whose value is being compared
	pos    int64  // offset in the payload of the next byte to compare
	err    error
	total  int64
}

func newFieldChecker(g genPayload, keys ...string) *fieldChecker {
	return &fieldChecker{g: g, keys: keys, found: map[string]bool{}}
}

func (c *fieldChecker) Write(p []byte) (int, error) {
	c.total += int64(len(p))
	for _, b := range p {
		if c.err != nil {
			break
		}
		if c.key != "" {
			if b != c.g.at(c.pos) {
				c.err = fmt.Errorf("%s differs from the payload at byte %d: %q", c.key, c.pos, b)
				break
			}
			if c.pos++; c.pos == c.g.n {
				c.found[c.key], c.key = true, ""
			}
			continue
		}
		c.window = append(c.window, b)
		if len(c.window) > 64 {
			c.window = c.window[len(c.window)-64:]
		}
		for _, k := range c.keys {
			if strings.HasSuffix(string(c.window), k) {
				c.key, c.pos, c.window = k, 0, c.window[:0]
			}
		}
	}
	return len(p), nil
}

func (c *fieldChecker) check() error {
	if c.err != nil {
		return c.err
	}
	for _, k := range c.keys {
		if !c.found[k] {
			return fmt.Errorf("%s with the whole payload not found in %d bytes", k, c.total)
		}
	}
	return nil
}

// procKB reads a field of /proc/self/status (VmRSS, VmHWM) in KiB.
func procKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

// heapSampler records the largest live heap (objects) seen while it runs.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			h.peak = max(h.peak, readMetric("/memory/classes/heap/objects:bytes"))
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	})
	return h
}

func (h *heapSampler) done() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak
}

// payCase is one measured round trip.
type payCase struct {
	provider string
	mb       int
}

func (pc payCase) name() string { return fmt.Sprintf("%s-%dMB", pc.provider, pc.mb) }

func writeAllocs(t *testing.T, name string) {
	dir := os.Getenv("FUNCHOST_PAYMEM_PPROF")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
}

// releaseMemory collects and returns freed memory to the OS, so that each
// case starts from the same place and RSS shows what is still live.
func releaseMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// roundTrip runs one case on srv and reports its figures.
func roundTrip(t *testing.T, srv *server, hub sp.TaskHub, pc payCase) {
	g := genPayload{n: int64(pc.mb) * 1_000_000}
	releaseMemory()
	baseRSS, baseHeap := procKB("VmRSS"), readMetric("/memory/classes/heap/objects:bytes")
	baseAlloc := readMetric("/gc/heap/allocs:bytes")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak RSS: %v", err)
	}
	writeAllocs(t, pc.name()+"-before")
	heap := sampleHeap()
	start := time.Now()

	req, err := http.NewRequest("POST", srv.base+"/orchestrators/Echo", g.reader())
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = g.n
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct {
		ID                string `json:"id"`
		StatusQueryGetURI string `json:"statusQueryGetUri"`
		PurgeHistoryURI   string `json:"purgeHistoryDeleteUri"`
	}
	err = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %d %v", resp.StatusCode, err)
	}
	deadline := time.Now().Add(10 * time.Minute) // a guard against hanging only
	for {
		st, err := hub.GetOrchestrationState(context.Background(), started.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if st.RuntimeStatus == sp.StatusCompleted {
			break
		}
		if st.RuntimeStatus == sp.StatusFailed || time.Now().After(deadline) {
			t.Fatalf("instance %s is %s", started.ID, st.RuntimeStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
	completed := time.Since(start)

	// The status read alone: what it allocates, and how far the live
	// heap rises above where it stood when the read began.
	readHeapBase, readAllocBase := readMetric("/memory/classes/heap/objects:bytes"), readMetric("/gc/heap/allocs:bytes")
	readHeap := sampleHeap()
	resp, err = http.Get(started.StatusQueryGetURI)
	if err != nil {
		t.Fatal(err)
	}
	chk := newFieldChecker(g, `"input":`, `"output":`)
	_, err = io.Copy(chk, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status: %d %v", resp.StatusCode, err)
	}
	if err := chk.check(); err != nil {
		t.Fatalf("status of %s: %v", started.ID, err)
	}
	elapsed := time.Since(start)
	readPeak, readAlloc := readHeap.done(), readMetric("/gc/heap/allocs:bytes")-readAllocBase
	peakHeap := heap.done()
	alloc := readMetric("/gc/heap/allocs:bytes") - baseAlloc
	peakRSS := procKB("VmHWM")
	runtime.GC() // the profile shows allocations up to the last collection
	writeAllocs(t, pc.name()+"-after")

	releaseMemory()
	storedRSS, storedHeap := procKB("VmRSS"), readMetric("/memory/classes/heap/objects:bytes")
	preq, _ := http.NewRequest("DELETE", started.PurgeHistoryURI, nil)
	if presp, err := http.DefaultClient.Do(preq); err != nil || presp.StatusCode != http.StatusOK {
		t.Fatalf("purge: %v %v", presp, err)
	} else {
		presp.Body.Close()
	}
	releaseMemory()
	t.Logf("%s: completed in %s, read back in %s; heap before %.0f MB, peak live heap +%.0f MB, allocated %.0f MB, "+
		"heap while stored +%.0f MB; RSS before %d MiB, peak %d MiB, while stored %d MiB, after purge %d MiB",
		pc.name(), completed.Round(time.Millisecond), (elapsed - completed).Round(time.Millisecond),
		float64(baseHeap)/1e6, float64(peakHeap-baseHeap)/1e6, float64(alloc)/1e6, (float64(storedHeap)-float64(baseHeap))/1e6,
		baseRSS>>10, peakRSS>>10, storedRSS>>10, procKB("VmRSS")>>10)
	t.Logf("%s: status read: allocated %.0f MB, peak live heap +%.0f MB over its start",
		pc.name(), float64(readAlloc)/1e6, (float64(readPeak)-float64(readHeapBase))/1e6)
}

func payHub(t *testing.T, provider string) sp.TaskHub {
	switch provider {
	case "memory":
		return memory.New(memory.Options{})
	case "azure":
		cs := azuritetest.ConnectionString(t)
		conn, err := azurestorage.ResolveConnection("Storage", func(key string) (string, bool) {
			return cs, key == "AzureWebJobsStorage"
		})
		if err != nil {
			t.Fatal(err)
		}
		hub, err := azurestorage.New(context.Background(), azurestorage.Options{
			TaskHubName:             fmt.Sprintf("paymem%d", time.Now().UnixNano()%1_000_000_000),
			Connection:              conn,
			MaxQueuePollingInterval: 100 * time.Millisecond,
			Logger:                  slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = hub.DeleteTaskHub(context.Background()) })
		return hub
	}
	t.Fatalf("unknown provider %q", provider)
	return nil
}

func envList(name, def string) []string {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	return strings.Split(v, ",")
}

func TestPayloadMemory(t *testing.T) {
	for _, provider := range envList("FUNCHOST_PAYMEM_PROVIDERS", "memory,azure") {
		t.Run(provider, func(t *testing.T) {
			hub := payHub(t, provider)
			runHub(t, hub)
			srv := newServer(t, hub, nil)
			for _, s := range envList("FUNCHOST_PAYMEM_SIZES", "30,50") {
				mb, err := strconv.Atoi(s)
				if err != nil {
					t.Fatal(err)
				}
				roundTrip(t, srv, hub, payCase{provider: provider, mb: mb})
			}
		})
	}
}
