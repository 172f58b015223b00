package determinism

import (
	"fmt"
	"go/types"
	"strings"
)

// Link is one function (or package-level variable) of a call chain.
type Link struct {
	PkgPath string
	PkgName string
	Name    string // "F" or "T.M", or the variable's name
	// Var is set when the link is a package-level variable whose
	// initialiser the chain goes through; it renders as "var name".
	Var bool
}

// render names the link as seen from package pkgPath: unqualified inside
// it, qualified with the package name outside.
func (l Link) render(pkgPath string) string {
	name := l.Name
	if l.PkgPath != pkgPath {
		name = l.PkgName + "." + name
	}
	if l.Var {
		name = "var " + name
	}
	return name
}

// qualified names the link with its package name wherever it is seen, as
// the operations of other packages are (time.Now).
func (l Link) qualified() string { return l.PkgName + "." + l.Name }

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

// via returns f as seen from a caller of l: l prepended to the chain.
func (f Finding) via(l ...Link) Finding {
	return Finding{Chain: append(append([]Link(nil), l...), f.Chain...), Op: f.Op, Cat: f.Cat}
}

// Summary is what a function (or a package-level variable's initialiser)
// does that matters to an orchestrator calling it (or reading it). It is
// exported as a fact so that helpers in other packages of the same module
// are checked too.
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
	// DeclaredIO is set when a //durablevet:io directive marks the function
	// (or its type or package): calling it is I/O, whatever its body does.
	DeclaredIO bool
	// Unordered is set when the function returns a slice in Go's random
	// map order (keys collected from a map and not sorted). It says where
	// the order comes from; a caller that sorts the result is fine, one
	// that uses it as it is gets this finding.
	Unordered *Finding
}

// AFact marks Summary as an analysis fact.
func (*Summary) AFact() {}

// String lists the summary's findings as chains, for analysistest's fact
// checks and debugging.
func (s *Summary) String() string {
	var parts []string
	for _, f := range s.Findings {
		parts = append(parts, f.String())
	}
	if s.Unordered != nil {
		parts = append(parts, "unordered result: "+s.Unordered.String())
	}
	if s.DeclaredIO {
		parts = append(parts, "declared I/O")
	}
	if s.Schedules {
		parts = append(parts, "schedules")
	}
	if s.ContinuesAsNew {
		parts = append(parts, "continues-as-new")
	}
	return "summary(" + strings.Join(parts, ", ") + ")"
}

// String renders the finding's chain with qualified names.
func (f Finding) String() string {
	var chain []string
	for _, l := range f.Chain {
		chain = append(chain, l.render(""))
	}
	return strings.Join(append(chain, f.Op), " → ")
}

func (s *Summary) empty() bool {
	return len(s.Findings) == 0 && !s.Schedules && !s.ContinuesAsNew && !s.DeclaredIO && s.Unordered == nil
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

// linkOf names a function or package-level variable as a chain link.
func linkOf(obj types.Object) Link {
	l := Link{Name: obj.Name()}
	if obj.Pkg() != nil {
		l.PkgPath, l.PkgName = obj.Pkg().Path(), obj.Pkg().Name()
	}
	switch obj := obj.(type) {
	case *types.Var:
		l.Var = true
	case *types.Func:
		if sig, ok := obj.Type().(*types.Signature); ok && sig.Recv() != nil {
			if tn := recvTypeName(sig.Recv().Type()); tn != "" {
				l.Name = tn + "." + obj.Name()
			}
		}
	}
	return l
}
