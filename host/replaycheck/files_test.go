package replaycheck_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/host/replaycheck"
)

// fakeT records what AssertDir reports instead of failing the test.
type fakeT struct {
	testing.TB
	errors, logs []string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}
func (f *fakeT) Logf(format string, a ...any) { f.logs = append(f.logs, fmt.Sprintf(format, a...)) }
func (f *fakeT) Fatalf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
	panic("fatal")
}

// TestExportedFiles: histories exported to files read back the same and
// AssertDir passes clean code, fails breaking code (naming the file), and
// fails on warnings only when strict.
func TestExportedFiles(t *testing.T) {
	hub := recordHistories(t, 2)
	hs, err := replaycheck.FromTaskHub(context.Background(), hub, replaycheck.Query{InstanceIDs: []string{"flow-1", "flow-0"}})
	if err != nil || len(hs) != 2 {
		t.Fatalf("FromTaskHub = %d histories, %v", len(hs), err)
	}
	dir := t.TempDir()
	paths, err := replaycheck.ExportTaskHub(context.Background(), hub, replaycheck.Query{}, dir, time.Now())
	if err != nil || len(paths) != 2 || filepath.Base(paths[1]) != "flow-1.json" {
		t.Fatalf("ExportTaskHub = %q, %v", paths, err)
	}
	back, err := replaycheck.ReadDir(dir)
	if err != nil || len(back) != 2 || back[0].InstanceID != "flow-0" || len(back[0].Events) != len(hs[0].Events) ||
		back[0].Version != "1.0" || !strings.HasSuffix(back[0].Source, "flow-0.json") {
		t.Fatalf("ReadDir = %+v, %v", back, err)
	}
	for _, tc := range []struct {
		name   string
		change change
		strict bool
		errors []string
		logs   int
	}{
		{name: "clean"},
		{name: "breaking", change: change{rename: "B"}, errors: []string{"flow-0.json: instance flow-0 (Flow, version \"1.0\") would break", `TaskScheduled "B"`}},
		{name: "warning", change: change{inputC: `"other"`}, logs: 2},
		{name: "warning, strict", change: change{inputC: `"other"`}, strict: true, errors: []string{"activity input changed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeT{TB: t}
			reports := replaycheck.AssertDir(ft, functions(tc.change), dir, replaycheck.Options{Strict: tc.strict})
			if sum := replaycheck.Summarize(reports); len(reports) != 2 || len(ft.logs) != tc.logs || sum.Checked != 2 ||
				(len(tc.errors) > 0 && !tc.strict) != (sum.Breaks == 2) || (tc.logs > 0 || tc.strict) != (sum.Warnings == 2) {
				t.Errorf("summary %+v", sum)
			}
			if len(reports) != 2 || len(ft.logs) != tc.logs {
				t.Errorf("%d reports, logs %q; want 2 reports, %d logs", len(reports), ft.logs, tc.logs)
			}
			if len(tc.errors) == 0 && len(ft.errors) > 0 {
				t.Fatalf("errors %q, want none", ft.errors)
			}
			if len(tc.errors) > 0 && len(ft.errors) != 2 {
				t.Fatalf("errors %q, want one per instance", ft.errors)
			}
			for _, w := range tc.errors {
				if !strings.Contains(strings.Join(ft.errors, "\n"), w) {
					t.Errorf("errors %q lack %q", ft.errors, w)
				}
			}
		})
	}
}

// TestBadFiles: files that are not exported histories are refused with
// their name and the reason.
func TestBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"not json", "{", "bad.json"},
		{"other format", `{"format":"something-else"}`, `format "something-else"`},
		{"null event", `{"format":"funchost-history/1","instanceId":"i","history":[null]}`, "event 0 is null"},
		{"no start", `{"format":"funchost-history/1","instanceId":"i","history":[{"EventType":12,"EventId":-1,"Timestamp":"2024-01-01T00:00:00Z"}]}`, "no ExecutionStarted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := replaycheck.ReadDir(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.json") {
				t.Fatalf("ReadDir error %v, want one naming bad.json and %q", err, tc.want)
			}
		})
	}
	if _, err := replaycheck.ReadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no *.json") {
		t.Errorf("empty dir: %v", err)
	}
}
