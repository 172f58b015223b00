package determinism_test

import (
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
	"ioclients", "iodirective", "iodirective/remote", "goroutines", "mapkeys", "mapkeys/keyutil",
	"ifaces", "ifaces/impl", "globalinit", "globalinit/settings",
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
	results := analysistest.Run(determinism.FactFilter{T: t}, analysistest.TestData(), determinism.Analyzer, patterns...)
	if len(results) < len(packages) {
		t.Fatalf("analysed %d packages, want at least %d", len(results), len(packages))
	}
}
