package determinism_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/funchost/funchost/cmd/durablevet/determinism"
)

// packages are the testdata packages, one per rule plus the helpers, the
// suppression comment and the negative cases. Each marks the expected
// findings with // want comments; any other finding fails the test.
var packages = []string{
	"clock", "random", "env", "iocalls", "concurrency", "globals",
	"maprange", "loops", "helpers", "helpers/util", "suppression", "negatives",
}

// factFilter forwards analysistest's complaints except those about the
// helper summaries the analyzer exports as facts: they are an
// implementation detail, checked through the diagnostics they produce.
type factFilter struct{ t *testing.T }

func (f factFilter) Errorf(format string, args ...any) {
	f.t.Helper()
	if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "unexpected fact:") {
		f.t.Error(msg)
	}
}

// TestAnalyzer runs the analyzer over the testdata packages. The testdata
// directory is a module that uses the repository's real bindings package
// through a replace directive, so it loads offline; all packages are loaded
// at once to share the type-checking of their dependencies.
func TestAnalyzer(t *testing.T) {
	var patterns []string
	for _, p := range packages {
		patterns = append(patterns, "./"+p)
	}
	results := analysistest.Run(factFilter{t}, analysistest.TestData(), determinism.Analyzer, patterns...)
	if len(results) < len(packages) {
		t.Fatalf("analysed %d packages, want at least %d", len(results), len(packages))
	}
}
