package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// standardItem is one run of the standard set and the targets it is judged
// by (issue 6).
type standardItem struct {
	id       string // short name, used for profile file names
	provider string // "azurite" (the shared private one) or "memory"
	args     []string
	checks   func(r *Result) []Check
}

// standardSet returns the standard set. Each item runs in a child process
// of its own so that its CPU time and peak RSS are its own and no garbage
// of an earlier run is counted.
func standardSet() []standardItem {
	return []standardItem{
		{id: "cities5", provider: "azurite",
			args: []string{"-scenario", "HelloCities5", "-n", "1000", "-concurrency", "1000"},
			checks: func(r *Result) []Check {
				// Issue 18's targets (issue 6 asked for 90/s and 20).
				cs := []Check{judge("orchestrationsPerSecond", ">=", 160, r.OrchestrationsPerSecond)}
				if r.StorageRequestsPerOrchestration != nil {
					cs = append(cs, judge("storageRequestsPerOrchestration", "<=", 5, *r.StorageRequestsPerOrchestration))
				}
				return cs
			}},
		{id: "cities5-hub5000", provider: "azurite",
			args: []string{"-scenario", "HelloCities5", "-n", "1000", "-concurrency", "1000", "-prefill", "5000"},
			checks: func(r *Result) []Check {
				// Issue 18: with 5,000 instances stored, at least 0.8× the
				// empty hub's target.
				return []Check{judge("orchestrationsPerSecond", ">=", 72, r.OrchestrationsPerSecond)}
			}},
		{id: "sequence-latency", provider: "azurite",
			args: []string{"-scenario", "HelloSequence", "-n", "100", "-sequential"},
			checks: func(r *Result) []Check {
				return []Check{judge("latencyMs.p50", "<=", 40, r.LatencyMs.P50)}
			}},
		{id: "fanout1000", provider: "azurite",
			args: []string{"-scenario", "FanOutFanIn", "-fanout", "1000", "-n", "1"},
			checks: func(r *Result) []Check {
				return []Check{judge("elapsedSeconds", "<=", 5, r.ElapsedSeconds)}
			}},
		{id: "burst5000", provider: "azurite",
			args: []string{"-scenario", "HelloSequence", "-n", "5000", "-concurrency", "5000"},
			checks: func(r *Result) []Check {
				// Issue 18: 5,000 starts at once in bounded memory.
				return []Check{judge("peakRSSMB", "<=", 150, round(float64(r.PeakRSSBytes)/(1<<20), 1))}
			}},
		{id: "longseq-memory", provider: "memory",
			args:   []string{"-scenario", "LongSequence", "-steps", "1000", "-local-activities=false", "-session-cache", "1000"},
			checks: longSequenceChecks},
		{id: "longseq-azurite", provider: "azurite",
			args:   []string{"-scenario", "LongSequence", "-steps", "1000", "-local-activities=false", "-session-cache", "1000"},
			checks: longSequenceChecks},
		{id: "parked-cache", provider: "azurite",
			args:   []string{"-scenario", "Parked", "-n", "5000", "-concurrency", "64", "-session-cache", "5000"},
			checks: func(*Result) []Check { return nil }}, // no target: a figure to report
		{id: "parked-nocache", provider: "azurite",
			args:   []string{"-scenario", "Parked", "-n", "5000", "-concurrency", "64", "-session-cache", "0"},
			checks: func(*Result) []Check { return nil }},
		{id: "sequence-memory", provider: "memory",
			args: []string{"-scenario", "HelloSequence", "-n", "10000", "-concurrency", "1000"},
			checks: func(r *Result) []Check {
				return []Check{
					judge("orchestrationsPerSecond", ">=", 1000, r.OrchestrationsPerSecond),
					judge("rssAfterMB", "<=", 100, round(float64(r.RSSAfterBytes)/(1<<20), 1)),
				}
			}},
	}
}

// longSequenceChecks judges a LongSequence run: the last tenth of its
// activities at most 1.5× as slow as the first (issue 18).
func longSequenceChecks(r *Result) []Check {
	if r.ActivityMsFirstTenth == nil || r.ActivityMsLastTenth == nil || *r.ActivityMsFirstTenth <= 0 {
		// Not measured: reported as missed, never as met.
		return []Check{{Metric: "activityMsLastTenth/first", Op: "<=", Target: 1.5}}
	}
	return []Check{judge("activityMsLastTenth/first", "<=", 1.5, round(*r.ActivityMsLastTenth / *r.ActivityMsFirstTenth, 2))}
}

// runStandard starts one private Azurite (unless -connection names one),
// runs the standard set and prints one JSON line per run, with its target
// checks, on stdout and a summary table on stderr. Missed targets are
// reported, not treated as errors; a run that fails is.
func runStandard(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	conn, azPID := cfg.connection, cfg.azuritePID
	if conn == "" {
		srv, err := startAzurite(stderr, cfg.azuriteProf)
		if err != nil {
			return err
		}
		defer stopAzurite(srv, cfg.azuriteProf, stderr)
		conn, azPID = srv.ConnectionString(), findChildAzurite()
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var results []*Result
	var errs []error
	for _, it := range standardSet() {
		// The item's own flags come last: they override the worker's.
		args := []string{"-json", "-provider", it.provider}
		if it.provider != "memory" {
			args = append(args, "-connection", conn, "-azurite-pid", strconv.Itoa(azPID))
		}
		args = append(append(args, "-timeout", cfg.timeout.String()), workerArgs(cfg.worker)...)
		args = append(args, it.args...)
		if cfg.cpuProfile != "" {
			args = append(args, "-cpuprofile", cfg.cpuProfile+"."+it.id)
		}
		if cfg.quiet {
			args = append(args, "-quiet")
		}
		r, err := runChild(ctx, exe, args, stderr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", it.id, err))
		}
		if r == nil {
			continue
		}
		r.Checks = it.checks(r)
		if err := writeJSON(stdout, r); err != nil {
			return err
		}
		results = append(results, r)
	}
	writeMarkdown(stderr, results)
	return errors.Join(errs...)
}

// workerArgs renders engine options as flags for a child process.
func workerArgs(w workerConfig) []string {
	return []string{
		"-max-orchestrations", strconv.Itoa(w.maxOrchestrations),
		"-max-activities", strconv.Itoa(w.maxActivities),
		"-session-cache", strconv.Itoa(w.sessionCache),
		"-local-activities=" + strconv.FormatBool(w.localActivities),
	}
}

// runChild runs this command with args and decodes the JSON line it
// prints. A child that fails but printed its result returns both.
func runChild(ctx context.Context, exe string, args []string, stderr io.Writer) (*Result, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdout, cmd.Stderr = &out, stderr
	runErr := cmd.Run()
	line := strings.TrimSpace(out.String())
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if line == "" {
		if runErr == nil {
			runErr = errors.New("no result printed")
		}
		return nil, runErr
	}
	var r Result
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return nil, errors.Join(runErr, fmt.Errorf("decoding result %q: %w", line, err))
	}
	return &r, runErr
}
