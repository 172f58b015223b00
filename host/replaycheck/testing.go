package replaycheck

import (
	"testing"
)

// AssertDir replays every history exported into dir (see ReadDir) against
// the orchestrators among functions and fails the test for each instance
// the code would break, naming the file, the sequence number, what history
// holds and what the code asks for. Warnings are logged; with o.Strict
// they fail the test too. It returns the reports for further checks.
//
// An app keeps a few histories of its long-running orchestrations in
// testdata/ (written by `durable export-history` or WriteFile) and runs
//
//	func TestHistoriesReplay(t *testing.T) {
//		replaycheck.AssertDir(t, sampleapp.Handlers(), "testdata/histories", replaycheck.Options{})
//	}
//
// so that a change that would break them fails go test instead of the
// running instances.
func AssertDir(t testing.TB, functions map[string]any, dir string, o Options) []Report {
	t.Helper()
	hs, err := ReadDir(dir)
	if err != nil {
		t.Fatalf("%v", err)
	}
	reports := New(functions, o).CheckAll(hs, nil)
	for _, r := range reports {
		switch {
		case r.Breaks():
			t.Errorf("%s: instance %s (%s, version %q) would break: %s", r.Source, r.InstanceID, r.Name, r.Version, r.Problem())
		case len(r.Warnings) > 0:
			for _, w := range r.Warnings {
				if o.Strict {
					t.Errorf("%s: instance %s (%s): %s", r.Source, r.InstanceID, r.Name, w)
				} else {
					t.Logf("%s: instance %s (%s): warning: %s", r.Source, r.InstanceID, r.Name, w)
				}
			}
		}
	}
	return reports
}
