// Command bench is funchost's load and benchmark tool.
//
// It runs one of the sample app's scenarios — HelloSequence, HelloCities5
// (five sequential activities) or FanOutFanIn (-fanout activities in
// parallel) — n times with bounded concurrency, either in this process
// (engine + provider + sample functions) or against a running host over
// HTTP, and reports orchestrations/s (first start → last completion),
// start→Completed latency percentiles, activities/s, storage requests per
// orchestration by service and operation (counted by the Azure Storage
// provider's request counter), host CPU seconds and peak RSS.
//
//	go run ./samples/bench -scenario HelloCities5 -n 1000 -provider azurite
//	go run ./samples/bench -scenario HelloSequence -n 100 -sequential -provider azurite
//	go run ./samples/bench -scenario FanOutFanIn -fanout 1000 -n 1 -provider memory
//	go run ./samples/bench -scenario HelloSequence -n 200 -http http://127.0.0.1:7071 -host-pid 1234
//	go run ./samples/bench -standard          # the standard set, JSON lines (make bench)
//	go run ./samples/bench -probe-azurite     # Azurite's own request ceiling
//
// In-process runs use a fresh task hub (bench + random suffix) and delete it
// afterwards. -provider azurite starts a private Azurite unless -connection
// names one. A progress line goes to stderr, results to stdout: a markdown
// table, or with -json one JSON object per scenario.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// config is the parsed command line.
type config struct {
	scenario    string
	n           int
	concurrency int
	fanout      int
	steps       int
	sequential  bool
	warmup      int
	prefill     int
	provider    string
	connection  string
	httpBase    string
	hostPID     int
	azuritePID  int
	poll        time.Duration
	jsonOut     bool
	quiet       bool
	timeout     time.Duration
	cpuProfile  string
	memProfile  string
	azuriteProf string
	worker      workerConfig

	standard bool
	entities bool

	probe            bool
	probeSeconds     time.Duration
	probeConcurrency int
	probeBatch       int
	probeHub         int
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	c := &config{worker: defaultWorker()}
	fs.StringVar(&c.scenario, "scenario", "HelloCities5", "HelloSequence, HelloCities5, FanOutFanIn, LongSequence (one instance of -steps activities) or Parked (-n WaitForApproval instances left waiting: memory per instance)")
	fs.IntVar(&c.n, "n", 100, "number of orchestrations to run")
	fs.IntVar(&c.concurrency, "concurrency", 100, "orchestrations in flight at most (0: all n at once)")
	fs.IntVar(&c.fanout, "fanout", 100, "activities per FanOutFanIn orchestration")
	fs.IntVar(&c.steps, "steps", 1000, "activities of the LongSequence orchestration (one instance, timed per activity)")
	fs.BoolVar(&c.sequential, "sequential", false, "run one orchestration at a time (latency scenario; same as -concurrency 1)")
	fs.IntVar(&c.warmup, "warmup", 1, "orchestrations run and discarded before measuring (partition ownership, connections)")
	fs.IntVar(&c.prefill, "prefill", 0, "HelloSequence orchestrations completed (and kept in the hub) before measuring: the cost of a grown task hub")
	fs.StringVar(&c.provider, "provider", "memory", "memory, azurite (private Azurite unless -connection) or azure (-connection required); with -http only a label for the results")
	fs.StringVar(&c.connection, "connection", "", "storage connection string (azure; or an already running Azurite)")
	fs.StringVar(&c.httpBase, "http", "", "base URL of a running host (e.g. http://127.0.0.1:7071): drive it over HTTP instead of in-process")
	fs.IntVar(&c.hostPID, "host-pid", 0, "with -http: pid of the host process, to report its CPU seconds and RSS")
	fs.IntVar(&c.azuritePID, "azurite-pid", 0, "pid of the Azurite behind -connection, to report its CPU time (found automatically for a private Azurite)")
	fs.DurationVar(&c.poll, "poll", 20*time.Millisecond, "with -http: status polling interval")
	fs.BoolVar(&c.jsonOut, "json", false, "print one JSON object per scenario instead of a markdown table")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress line on stderr")
	fs.DurationVar(&c.timeout, "timeout", 15*time.Minute, "give up after this long (with -standard: each run of the set)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured run to this file")
	fs.StringVar(&c.azuriteProf, "azurite-cpuprofile", "", "with a private Azurite: write its V8 CPU profile to this directory and print its top functions when it stops")
	fs.StringVar(&c.memProfile, "memprofile", "", "write a heap profile after the measured run to this file")
	fs.IntVar(&c.worker.maxOrchestrations, "max-orchestrations", c.worker.maxOrchestrations, "engine: concurrent orchestration work items (default: the host's)")
	fs.IntVar(&c.worker.maxActivities, "max-activities", c.worker.maxActivities, "engine: concurrent activities (default: the host's)")
	fs.IntVar(&c.worker.sessionCache, "session-cache", c.worker.sessionCache, "engine: session cache size, 0 = off (default: the host's, off unless extendedSessionsEnabled)")
	fs.BoolVar(&c.worker.localActivities, "local-activities", c.worker.localActivities, "engine: run an episode's activities in-process instead of through the activity queue (default: the host's)")
	fs.BoolVar(&c.entities, "entities", false, "run the entity benchmark: -n signals into one Counter and into 100, and 20 Transfer critical sections")
	fs.StringVar(&c.worker.tracing, "tracing", "off", "distributed tracing: off, noop (spans exported one by one to a discarding exporter) or batch (batched, discarded)")
	fs.BoolVar(&c.standard, "standard", false, "run the standard set on one private Azurite and memory, printing JSON lines (make bench)")
	fs.BoolVar(&c.probe, "probe-azurite", false, "measure Azurite's own request ceiling (queue put/get, table batch, point read)")
	fs.DurationVar(&c.probeSeconds, "probe-seconds", 5*time.Second, "with -probe-azurite: duration of each probe")
	fs.IntVar(&c.probeConcurrency, "probe-concurrency", 4, "with -probe-azurite: concurrent requests")
	fs.IntVar(&c.probeHub, "probe-hub", 1000, "with -probe-azurite: instances stored in the History- and Instances-shaped tables (the cost of a grown task hub)")
	fs.IntVar(&c.probeBatch, "probe-batch", 25, "with -probe-azurite: entities per table batch (25 = one HelloCities5 commit: 24 history rows + sentinel)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	providerSet := false
	fs.Visit(func(f *flag.Flag) { providerSet = providerSet || f.Name == "provider" })
	if c.httpBase != "" && !providerSet {
		// Over HTTP the host chooses its provider; -provider only labels
		// the results.
		c.provider = "host"
	}
	if c.sequential {
		c.concurrency = 1
	}
	switch c.provider {
	case "host":
		if c.httpBase == "" {
			return nil, errors.New("-provider host only labels -http runs")
		}
	case "memory", "azurite":
	case "azure":
		if c.connection == "" && c.httpBase == "" {
			return nil, errors.New("-provider azure needs -connection")
		}
	default:
		return nil, fmt.Errorf("unknown provider %q (memory, azurite, azure)", c.provider)
	}
	if c.n <= 0 {
		return nil, errors.New("-n must be positive")
	}
	return c, nil
}

func run(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	if cfg.standard {
		// Each child run gets -timeout of its own (it parses the flag
		// too); the set as a whole takes as long as its runs take.
		return runStandard(ctx, cfg, stdout, stderr)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	progress := stderr
	if cfg.quiet {
		progress = nil
	}
	switch {
	case cfg.probe:
		return runProbeCommand(ctx, cfg, stdout, progress)
	case cfg.entities:
		return runEntityBench(ctx, cfg, stdout, progress)
	}
	sc, err := scenarioWithSteps(cfg.scenario, cfg.fanout, cfg.steps)
	if err != nil {
		return err
	}
	res, err := runOne(ctx, cfg, sc, progress)
	if err != nil {
		return err
	}
	if cfg.jsonOut {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else {
		writeMarkdown(stdout, []*Result{res})
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d of %d orchestrations failed: %s", res.Failed, res.N, res.Error)
	}
	return nil
}

// runOne sets up the target, warms it up, runs the measured load (under
// the CPU profiler when asked) and tears everything down.
func runOne(ctx context.Context, cfg *config, sc scenario, progress io.Writer) (res *Result, err error) {
	var t target
	if cfg.httpBase != "" {
		t = newHTTPTarget(cfg.httpBase, cfg.concurrency, cfg.poll, cfg.hostPID, cfg.provider)
	} else {
		conn := cfg.connection
		if cfg.provider == "azurite" && conn == "" {
			srv, err := startAzurite(progress, cfg.azuriteProf)
			if err != nil {
				return nil, err
			}
			defer stopAzurite(srv, cfg.azuriteProf, progress)
			conn = srv.ConnectionString()
			cfg.azuritePID = findChildAzurite()
		}
		p, err := newInproc(ctx, inprocConfig{provider: cfg.provider, connection: conn, hubName: "bench" + randomHex(8), worker: cfg.worker})
		if err != nil {
			return nil, err
		}
		t = p
	}
	defer func() {
		if e := t.close(ctx); e != nil && err == nil {
			err = e
		}
	}()
	if cfg.warmup > 0 {
		// Warm up with the cheapest scenario: its job is to get partitions
		// owned and connections open, not to pre-run the workload.
		warm, _ := scenarioFor("HelloSequence", 0)
		w := runLoad(ctx, t, warm, loadOptions{n: cfg.warmup, concurrency: cfg.warmup})
		if w.Failed > 0 {
			return nil, fmt.Errorf("warm-up failed: %s", w.Error)
		}
	}
	if cfg.prefill > 0 {
		fill, _ := scenarioFor("HelloSequence", 0)
		w := runLoad(ctx, t, fill, loadOptions{n: cfg.prefill, concurrency: min(cfg.prefill, 500), progress: progress})
		if w.Failed > 0 {
			return nil, fmt.Errorf("prefill failed: %s", w.Error)
		}
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
	}
	res, err = measure(ctx, cfg, t, sc, progress)
	if err != nil {
		return nil, err
	}
	res.Prefilled = cfg.prefill
	if cfg.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if cfg.memProfile != "" {
		f, err := os.Create(cfg.memProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// startAzurite starts a private Azurite; with profDir set, Azurite runs
// with a preloaded script that profiles it with Node's inspector and
// writes a .cpuprofile there when it is stopped (--cpu-prof itself is not
// allowed in NODE_OPTIONS). The environment is changed only for the
// duration of the start, so only the Azurite process inherits it.
func startAzurite(progress io.Writer, profDir string) (*azuritetest.Server, error) {
	if progress != nil {
		fmt.Fprintln(progress, "starting a private Azurite…")
	}
	if profDir != "" {
		abs, err := filepath.Abs(profDir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, err
		}
		script := filepath.Join(abs, "bench-node-profiler.js")
		if err := os.WriteFile(script, []byte(nodeProfilerScript), 0o644); err != nil {
			return nil, err
		}
		restore := setenv("NODE_OPTIONS", strings.TrimSpace(os.Getenv("NODE_OPTIONS")+" --require "+script))
		defer restore()
		defer setenv("BENCH_NODE_PROFILE_DIR", abs)()
	}
	srv, err := azuritetest.Start(azuritetest.Options{})
	if err != nil {
		return nil, fmt.Errorf("starting Azurite: %w", err)
	}
	return srv, nil
}

// setenv sets an environment variable and returns a function restoring it.
func setenv(key, value string) func() {
	old, had := os.LookupEnv(key)
	os.Setenv(key, value)
	return func() {
		if had {
			os.Setenv(key, old)
		} else {
			os.Unsetenv(key)
		}
	}
}

// stopAzurite stops a private Azurite and summarizes its CPU profile when
// one was asked for.
func stopAzurite(srv *azuritetest.Server, profDir string, w io.Writer) {
	srv.Stop()
	if profDir == "" {
		return
	}
	if w == nil {
		w = os.Stderr
	}
	if err := summarizeNodeProfile(w, profDir); err != nil {
		fmt.Fprintln(w, "Azurite CPU profile:", err)
	}
}

func runProbeCommand(ctx context.Context, cfg *config, stdout, progress io.Writer) error {
	conn, azPID := cfg.connection, cfg.azuritePID
	if conn == "" {
		srv, err := startAzurite(progress, cfg.azuriteProf)
		if err != nil {
			return err
		}
		defer stopAzurite(srv, cfg.azuriteProf, progress)
		conn, azPID = srv.ConnectionString(), findChildAzurite()
	}
	rs, err := probeAzurite(ctx, probeOptions{connection: conn, concurrency: cfg.probeConcurrency,
		duration: cfg.probeSeconds, batchSize: cfg.probeBatch, hubSize: cfg.probeHub, azuritePID: azPID}, progress)
	if err != nil {
		return err
	}
	if cfg.jsonOut {
		for _, r := range rs {
			if err := writeJSON(stdout, r); err != nil {
				return err
			}
		}
		return nil
	}
	writeProbeMarkdown(stdout, rs)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
