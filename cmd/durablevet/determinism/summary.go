package determinism

import (
	"fmt"
	"go/types"
	"strings"
)

// Link is one function of a call chain.
type Link struct {
	PkgPath string
	PkgName string
	Name    string // "F" or "T.M"
}

// render names the link as seen from package pkgPath: unqualified inside
// it, qualified with the package name outside.
func (l Link) render(pkgPath string) string {
	if l.PkgPath == pkgPath {
		return l.Name
	}
	return l.PkgName + "." + l.Name
}

// Finding is one non-deterministic operation a function reaches.
type Finding struct {
	// Chain lists the helpers between the summarised function and Op,
	// outermost first; it is empty when the function does Op itself.
	Chain []Link
	// Op names the operation, e.g. "time.Now" or "range over map".
	Op  string
	Cat category
}

func (f Finding) key() string { return fmt.Sprintf("%d|%s", f.Cat, f.Op) }

// Summary is what a function does that matters to an orchestrator calling
// it. It is exported as a fact so that helpers in other packages of the
// same module are checked too.
type Summary struct {
	// Module is the path of the summarised function's module; summaries
	// are only followed within one module.
	Module   string
	Findings []Finding
	// Schedules is set when the function schedules durable work (calls an
	// activity, a sub-orchestration, a timer, waits for an event or sends
	// one), directly or through helpers.
	Schedules bool
	// ContinuesAsNew is set when the function calls ctx.ContinueAsNew,
	// directly or through helpers.
	ContinuesAsNew bool
}

// AFact marks Summary as an analysis fact.
func (*Summary) AFact() {}

// String lists the summary's findings as chains, for analysistest's fact
// checks and debugging.
func (s *Summary) String() string {
	var parts []string
	for _, f := range s.Findings {
		var chain []string
		for _, l := range f.Chain {
			chain = append(chain, l.PkgName+"."+l.Name)
		}
		parts = append(parts, strings.Join(append(chain, f.Op), " → "))
	}
	if s.Schedules {
		parts = append(parts, "schedules")
	}
	if s.ContinuesAsNew {
		parts = append(parts, "continues-as-new")
	}
	return "summary(" + strings.Join(parts, ", ") + ")"
}

func (s *Summary) empty() bool {
	return len(s.Findings) == 0 && !s.Schedules && !s.ContinuesAsNew
}

// add merges f into s, keeping one finding per operation with the shortest
// chain. It reports whether s changed.
func (s *Summary) add(f Finding) bool {
	for i, g := range s.Findings {
		if g.key() == f.key() {
			if len(f.Chain) < len(g.Chain) {
				s.Findings[i] = f
				return true
			}
			return false
		}
	}
	s.Findings = append(s.Findings, f)
	return true
}

// linkOf names fn as a chain link.
func linkOf(fn *types.Func) Link {
	l := Link{Name: fn.Name()}
	if fn.Pkg() != nil {
		l.PkgPath, l.PkgName = fn.Pkg().Path(), fn.Pkg().Name()
	}
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		if tn := recvTypeName(sig.Recv().Type()); tn != "" {
			l.Name = tn + "." + fn.Name()
		}
	}
	return l
}
