// Package determinism defines an analyzer that checks funchost orchestrator
// code for the things that break replay: reading the clock, random numbers
// and GUIDs, the process and machine environment, I/O (including the
// well-known network, storage and database client packages and code marked
// //durablevet:io), goroutines (also through errgroup and worker-pool
// libraries), channels and sync primitives, writes to package-level
// variables and reads of non-deterministically initialised ones, map
// iteration order, and unbounded loops that schedule work without
// ContinueAsNew.
//
// Orchestrator code is the body of every function or function literal whose
// first parameter is a bindings.OrchestrationContext: the Orchestrator
// shape, functions given to bindings.TypedOrchestrator and whatever is
// registered with the host as an orchestrator. What it reaches in the
// module is followed across packages using analysis facts: the helpers it
// calls (or passes as a value), the implementations of the module's
// interfaces it calls through, and the initialisers of the package-level
// variables it reads. Their findings are reported at the call inside the
// orchestrator with the chain, e.g.
//
//	HelloSequence → formatGreeting → time.Now: orchestrator code must not read the clock; use ctx.CurrentUTCDateTime()
//
// A helper that itself takes an OrchestrationContext first is orchestrator
// code in its own right: it is reported where its problems are, and callers
// do not repeat them.
//
// A finding is silenced by a //durablevet:ignore comment (optionally followed
// by a reason) at the end of its line or alone on the line above. Inside a
// helper, the comment also stops the finding from reaching the orchestrators
// that call it.
package determinism

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
)

const (
	bindingsPath = "github.com/funchost/funchost/bindings"

	// IgnoreDirective silences the findings of its line (as a trailing
	// comment) or of the next line (as a comment alone on its line).
	IgnoreDirective = "//durablevet:ignore"
)

// Analyzer reports non-deterministic code in funchost orchestrators.
var Analyzer = &analysis.Analyzer{
	Name: "durablevet",
	Doc: `check funchost orchestrator code for non-determinism

Orchestrators (functions whose first parameter is a
bindings.OrchestrationContext) are replayed from their history, so they must
make the same decisions every time they run. durablevet reports, in them and
in what they reach in the module (helpers, implementations of the module's
interfaces, initialisers of package-level variables they read): clock reads
and Go timers, random numbers and GUIDs, environment reads, file, network,
database and client-library I/O, durable-client calls, printing, goroutines
(also through errgroup and worker pools), channels, select and sync
primitives, writes to package-level variables, map iteration order, and
unbounded loops that schedule work without ContinueAsNew. Each finding names
the safe alternative.

-io-packages adds client packages to the I/O list; a //durablevet:io comment
marks a function, type, interface method or package as I/O. Silence a
finding with a //durablevet:ignore comment (optionally followed by a reason)
at the end of its line or alone on the line above.`,
	Run:       run,
	FactTypes: []analysis.Fact{new(Summary), new(Impls)},
}

// site is one non-deterministic operation in a function body, with the
// helpers between the body and it (for unsorted results of helpers).
type site struct {
	pos   token.Pos
	chain []Link
	op    string
	cat   category
	// direct is set for an operation of a variable's initialiser itself,
	// outside any function literal: var out = os.Stdout.
	direct bool
}

// edge is one use of a helper function, or a read of a package-level
// variable, from a function body.
type edge struct {
	pos token.Pos
	obj types.Object
}

// scan is what walking one function body (or initialiser) found.
type scan struct {
	sites     []site
	edges     []edge
	icalls    []ifaceCall
	schedules bool
	continues bool
	// unordered is set when the body returns a slice in map order.
	unordered *Finding
}

// node is one thing the analyzer summarises: a function declaration, or a
// package-level variable with its initialisers (the expression it is
// declared with and what init functions assign to it).
type node struct {
	obj  types.Object
	body *ast.BlockStmt
	init []ast.Expr
}

type checker struct {
	pass   *analysis.Pass
	module string
	// ignored holds, per file name, the lines silenced by IgnoreDirective.
	ignored map[string]map[int]bool
	// parents maps each node of the package's syntax to its parent.
	parents map[ast.Node]ast.Node
	// rootLits are the function literals that are orchestrator code.
	rootLits map[*ast.FuncLit]bool
	// sums holds the summaries of the package's own functions and
	// package-level variables.
	sums map[types.Object]*Summary
	// ioMarked holds the functions and interface methods IODirective
	// marks.
	ioMarked map[*types.Func]bool
	// moduleImpls caches the types of the module's other packages that
	// this one imports, directly or not.
	moduleImpls []ImplPackage
	implsLoaded bool
}

func run(pass *analysis.Pass) (any, error) {
	if pass.Pkg.Path() == bindingsPath {
		return nil, nil // the context's own implementation of the rules
	}
	module, ok := localModule(pass)
	if !ok {
		return nil, nil // the standard library or a downloaded dependency
	}
	c := &checker{
		pass:     pass,
		module:   module,
		ignored:  map[string]map[int]bool{},
		parents:  map[ast.Node]ast.Node{},
		rootLits: map[*ast.FuncLit]bool{},
		sums:     map[types.Object]*Summary{},
		ioMarked: map[*types.Func]bool{},
	}
	c.indexIgnores()
	c.markDeclaredIO()
	nodes, lits := c.collect()
	c.summarise(nodes)
	c.exportFacts(nodes)

	// Report inside orchestrator code.
	for _, n := range nodes {
		if fn, ok := n.obj.(*types.Func); ok && isOrchestratorFunc(fn) {
			c.report(linkOf(fn).Name, c.scanBody(n.body, modeOrchestrator))
		}
	}
	for _, lit := range lits {
		c.report(c.litName(lit), c.scanBody(lit.Body, modeOrchestrator))
	}
	return nil, nil
}

// collect records the parent of every syntax node and returns the
// package's function declarations and package-level variables with
// initialisers, and its orchestrator function literals.
func (c *checker) collect() ([]node, []*ast.FuncLit) {
	info := c.pass.TypesInfo
	var nodes []node
	var lits []*ast.FuncLit
	inits := map[*types.Var][]ast.Expr{}
	var vars []*types.Var
	addInit := func(v *types.Var, e ast.Expr) {
		if _, ok := inits[v]; !ok {
			vars = append(vars, v)
		}
		inits[v] = append(inits[v], e)
	}
	for _, f := range c.pass.Files {
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			if len(stack) > 0 {
				c.parents[n] = stack[len(stack)-1]
			}
			stack = append(stack, n)
			switch n := n.(type) {
			case *ast.FuncDecl:
				if fn, ok := info.Defs[n.Name].(*types.Func); ok && n.Body != nil {
					nodes = append(nodes, node{obj: fn, body: n.Body})
				}
			case *ast.FuncLit:
				if sig, ok := info.TypeOf(n).(*types.Signature); ok && isOrchestratorSig(sig) {
					c.rootLits[n] = true
					lits = append(lits, n)
				}
			}
			return true
		})
		for _, d := range f.Decls {
			for v, e := range c.initialisers(d) {
				addInit(v, e)
			}
		}
	}
	for _, v := range vars {
		nodes = append(nodes, node{obj: v, init: inits[v]})
	}
	return nodes, lits
}

// initialisers yields the package-level variables a declaration gives a
// value: var x = expr, and x = expr at the top of an init function.
func (c *checker) initialisers(d ast.Decl) func(yield func(*types.Var, ast.Expr) bool) {
	info := c.pass.TypesInfo
	return func(yield func(*types.Var, ast.Expr) bool) {
		pairs := func(names []ast.Expr, values []ast.Expr, def bool) bool {
			for i, name := range names {
				id, ok := name.(*ast.Ident)
				if !ok || len(values) == 0 {
					continue
				}
				obj := info.Uses[id]
				if def {
					obj = info.Defs[id]
				}
				v, ok := obj.(*types.Var)
				if !ok || !isPackageLevel(v) || v.Pkg() != c.pass.Pkg {
					continue
				}
				e := values[0] // var a, b = f(): both come from f
				if len(values) == len(names) {
					e = values[i]
				}
				if !yield(v, e) {
					return false
				}
			}
			return true
		}
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				if vs, ok := spec.(*ast.ValueSpec); ok && d.Tok == token.VAR {
					names := make([]ast.Expr, len(vs.Names))
					for i, n := range vs.Names {
						names[i] = n
					}
					if !pairs(names, vs.Values, true) {
						return
					}
				}
			}
		case *ast.FuncDecl:
			if d.Recv != nil || d.Name.Name != "init" || d.Body == nil {
				return
			}
			for _, st := range d.Body.List {
				if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.ASSIGN && !pairs(as.Lhs, as.Rhs, false) {
					return
				}
			}
		}
	}
}

// summarise computes the summaries of the package's nodes. First the
// properties that change how bodies are scanned (scheduling, continuing as
// new, unsorted results) are iterated until no body changes its mind; then
// the findings are propagated up the call graph until nothing changes.
// Each summary keeps one finding per operation with its shortest chain, so
// cycles terminate.
func (c *checker) summarise(nodes []node) {
	for _, n := range nodes {
		s := &Summary{Module: c.module}
		if fn, ok := n.obj.(*types.Func); ok {
			s.DeclaredIO = c.ioMarked[fn]
		}
		c.sums[n.obj] = s
	}
	scans := make([]*scan, len(nodes))
	for changed := true; changed; {
		changed = false
		for i, n := range nodes {
			sc := c.scanNode(n)
			scans[i] = sc
			s := c.sums[n.obj]
			if sc.schedules && !s.Schedules {
				s.Schedules, changed = true, true
			}
			if sc.continues && !s.ContinuesAsNew {
				s.ContinuesAsNew, changed = true, true
			}
			if sc.unordered != nil && s.Unordered == nil {
				s.Unordered, changed = sc.unordered, true
			}
		}
	}
	for i, n := range nodes {
		for _, st := range scans[i].sites {
			c.addFinding(n, Finding{Chain: st.chain, Op: st.op, Cat: st.cat}, st.direct)
		}
	}
	for changed := true; changed; {
		changed = false
		for i, n := range nodes {
			for _, f := range c.reached(scans[i]) {
				if c.addFinding(n, f, false) {
					changed = true
				}
			}
		}
	}
}

// reached returns what a body reaches through its helpers, variables and
// interface calls, as seen from the body.
func (c *checker) reached(sc *scan) []Finding {
	var out []Finding
	for _, e := range sc.edges {
		if fn, ok := e.obj.(*types.Func); ok && isOrchestratorFunc(fn) {
			continue // orchestrator code of its own: reported inside it
		}
		if cs := c.summaryOf(e.obj); cs != nil {
			for _, f := range cs.Findings {
				out = append(out, f.via(linkOf(e.obj)))
			}
		}
	}
	for _, ic := range sc.icalls {
		out = append(out, c.ifaceFindings(ic)...)
	}
	return out
}

// addFinding adds f to n's summary, unless n is a variable whose
// initialiser's f does not make its value differ between processes. It
// reports whether the summary changed. direct is set when f is an
// operation of the initialiser itself.
func (c *checker) addFinding(n node, f Finding, direct bool) bool {
	if _, ok := n.obj.(*types.Var); ok && !n.holdsFunc() && !affectsValue(f.Cat) {
		// A handle on the process output (var logger = log.New(os.Stderr,
		// "", 0)) prints whenever it is used; printing while computing the
		// value happens once.
		if f.Cat != catPrint || !direct {
			return false
		}
	}
	return c.sums[n.obj].add(f)
}

// holdsFunc reports whether a variable node is initialised with a function
// itself (a literal or a function's name, not the result of a call such as
// sync.OnceValue): whoever reads it calls that function, so everything the
// function does matters.
func (n node) holdsFunc() bool {
	if _, ok := n.obj.Type().Underlying().(*types.Signature); !ok {
		return false
	}
	for _, e := range n.init {
		if _, ok := ast.Unparen(e).(*ast.CallExpr); !ok {
			return true
		}
	}
	return false
}

// affectsValue reports whether a finding of category cat in a variable's
// initialiser makes the value differ between processes. Printing,
// locking, goroutines or writes while the variable is initialised happen
// once per process, not on replay.
func affectsValue(cat category) bool {
	switch cat {
	case catClockRead, catRandom, catGUID, catEnv, catFile, catNetwork, catDatabase, catIO,
		catDeclaredIO, catDurableClient, catMapRange, catMapOrder, catSharedRand:
		return true
	}
	return false
}

// exportFacts exports the summaries that say something, the marks of
// interface methods, and the package's method sets.
func (c *checker) exportFacts(nodes []node) {
	exported := map[types.Object]bool{}
	for _, n := range nodes {
		if s := c.sums[n.obj]; !s.empty() {
			c.pass.ExportObjectFact(n.obj, s)
			exported[n.obj] = true
		}
	}
	for fn := range c.ioMarked {
		if !exported[fn] {
			c.pass.ExportObjectFact(fn, &Summary{Module: c.module, DeclaredIO: true})
		}
	}
	c.pass.ExportPackageFact(c.localImpls())
}

// localModule returns the module path of the package under analysis when
// it is code of the module being checked (the main module or a module
// replaced by a local directory); standard-library and downloaded packages
// are left alone.
func localModule(pass *analysis.Pass) (string, bool) {
	m := pass.Module
	if m == nil || m.Path == "" {
		return "", false
	}
	if m.Version != "" && (m.Replace == nil || m.Replace.Version != "") {
		return "", false
	}
	return m.Path, true
}

// summaryOf returns what a function (or a variable's initialiser) does,
// from this package's summaries or from a fact exported by another package
// of the same module.
func (c *checker) summaryOf(obj types.Object) *Summary {
	if obj.Pkg() == nil || obj.Pkg().Path() == bindingsPath {
		return nil
	}
	if obj.Pkg() == c.pass.Pkg {
		return c.sums[obj]
	}
	var s Summary
	if !c.pass.ImportObjectFact(obj, &s) || s.Module != c.module {
		return nil
	}
	return &s
}
