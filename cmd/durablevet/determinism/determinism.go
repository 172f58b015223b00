// Package determinism defines an analyzer that checks funchost orchestrator
// code for the things that break replay: reading the clock, random numbers
// and GUIDs, the process environment, I/O and network calls, goroutines,
// channels and sync primitives, writes to package-level variables, ranging
// over maps, and unbounded loops that schedule work without ContinueAsNew.
//
// Orchestrator code is the body of every function or function literal whose
// first parameter is a bindings.OrchestrationContext: the Orchestrator
// shape, functions given to bindings.TypedOrchestrator and whatever is
// registered with the host as an orchestrator. Helpers that orchestrator
// code calls (or passes as a value) are followed through the whole module,
// across packages, using analysis facts; their findings are reported at the
// call inside the orchestrator with the call chain, e.g.
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
	"go/constant"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
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
in the module's helpers they call: clock reads and Go timers, random numbers
and GUIDs, environment reads, file/network/database I/O and durable-client
calls, printing, goroutines, channels, select and sync primitives, writes to
package-level variables, ranging over maps, and unbounded loops that schedule
work without ContinueAsNew. Each finding names the safe alternative.

Silence a finding with a //durablevet:ignore comment (optionally followed by a
reason) at the end of its line or alone on the line above.`,
	Run:       run,
	FactTypes: []analysis.Fact{new(Summary)},
}

// site is one non-deterministic operation in a function body.
type site struct {
	pos token.Pos
	op  string
	cat category
}

// edge is one use of a helper function from a function body.
type edge struct {
	pos token.Pos
	fn  *types.Func
}

// scan is what walking one function body found.
type scan struct {
	sites     []site
	edges     []edge
	schedules bool
	continues bool
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
	// sums holds the summaries of the package's own functions.
	sums map[*types.Func]*Summary
	// funcVars maps the package's function-typed variables to the function
	// they are initialised with (var now = time.Now), so that calling them
	// counts as calling it.
	funcVars map[*types.Var]*types.Func
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
		sums:     map[*types.Func]*Summary{},
		funcVars: map[*types.Var]*types.Func{},
	}
	c.indexIgnores()

	// Pass 1: find the function declarations and orchestrator literals.
	type decl struct {
		fn *types.Func
		fd *ast.FuncDecl
	}
	var decls []decl
	var lits []*ast.FuncLit
	for _, f := range pass.Files {
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
			case *ast.ValueSpec:
				c.noteFuncVars(n)
			case *ast.FuncDecl:
				if fn, ok := pass.TypesInfo.Defs[n.Name].(*types.Func); ok && n.Body != nil {
					decls = append(decls, decl{fn, n})
				}
			case *ast.FuncLit:
				if sig, ok := pass.TypesInfo.TypeOf(n).(*types.Signature); ok && isOrchestratorSig(sig) {
					c.rootLits[n] = true
					lits = append(lits, n)
				}
			}
			return true
		})
	}

	// Pass 2: summarise every function declared here, then propagate the
	// helpers' findings up the call graph until nothing changes. Each
	// summary keeps one finding per operation with its shortest chain, so
	// cycles terminate.
	scans := map[*types.Func]*scan{}
	for _, d := range decls {
		sc := c.scanBody(d.fd.Body, false)
		scans[d.fn] = sc
		s := &Summary{Module: module, Schedules: sc.schedules, ContinuesAsNew: sc.continues}
		for _, st := range sc.sites {
			s.add(Finding{Op: st.op, Cat: st.cat})
		}
		c.sums[d.fn] = s
	}
	for changed := true; changed; {
		changed = false
		for _, d := range decls {
			s := c.sums[d.fn]
			for _, e := range scans[d.fn].edges {
				cs := c.summaryOf(e.fn)
				if cs == nil || cs == s {
					continue
				}
				if cs.Schedules && !s.Schedules {
					s.Schedules, changed = true, true
				}
				if cs.ContinuesAsNew && !s.ContinuesAsNew {
					s.ContinuesAsNew, changed = true, true
				}
				if isOrchestratorFunc(e.fn) {
					continue // orchestrator code of its own: reported inside it
				}
				for _, f := range cs.Findings {
					nf := Finding{Chain: append([]Link{linkOf(e.fn)}, f.Chain...), Op: f.Op, Cat: f.Cat}
					if s.add(nf) {
						changed = true
					}
				}
			}
		}
	}
	for _, d := range decls {
		if s := c.sums[d.fn]; !s.empty() {
			pass.ExportObjectFact(d.fn, s)
		}
	}

	// Pass 3: report inside orchestrator code.
	for _, d := range decls {
		if isOrchestratorFunc(d.fn) {
			c.report(linkOf(d.fn).Name, c.scanBody(d.fd.Body, true))
		}
	}
	for _, lit := range lits {
		c.report(c.litName(lit), c.scanBody(lit.Body, true))
	}
	return nil, nil
}

// noteFuncVars records package-level variables initialised with a
// function: var now = time.Now.
func (c *checker) noteFuncVars(vs *ast.ValueSpec) {
	if len(vs.Values) != len(vs.Names) {
		return
	}
	for i, name := range vs.Names {
		v, ok := c.pass.TypesInfo.Defs[name].(*types.Var)
		if !ok || !isPackageLevel(v) {
			continue
		}
		if id := identOf(vs.Values[i]); id != nil {
			if fn, ok := c.pass.TypesInfo.Uses[id].(*types.Func); ok {
				c.funcVars[v] = fn.Origin()
			}
		}
	}
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

// summaryOf returns what fn does, from this package's summaries or from a
// fact exported by another package of the same module.
func (c *checker) summaryOf(fn *types.Func) *Summary {
	if fn.Pkg() == nil || fn.Pkg().Path() == bindingsPath {
		return nil
	}
	if fn.Pkg() == c.pass.Pkg {
		return c.sums[fn]
	}
	var s Summary
	if !c.pass.ImportObjectFact(fn, &s) || s.Module != c.module {
		return nil
	}
	return &s
}

// report emits the findings of one orchestrator's body: its own
// operations where they are, and its helpers' at the call.
func (c *checker) report(root string, sc *scan) {
	pkg := c.pass.Pkg.Path()
	for _, st := range sc.sites {
		c.pass.Reportf(st.pos, "%s → %s: %s", root, st.op, hints[st.cat])
	}
	for _, e := range sc.edges {
		if isOrchestratorFunc(e.fn) {
			continue // checked as an orchestrator itself
		}
		cs := c.summaryOf(e.fn)
		if cs == nil {
			continue
		}
		for _, f := range cs.Findings {
			chain := []string{root, linkOf(e.fn).render(pkg)}
			for _, l := range f.Chain {
				chain = append(chain, l.render(pkg))
			}
			chain = append(chain, f.Op)
			c.pass.Reportf(e.pos, "%s: %s", strings.Join(chain, " → "), hints[f.Cat])
		}
	}
}

// litName names an orchestrator function literal after what it is bound
// to: the string it is registered under, the variable or key it is
// assigned to, or else the function it appears in.
func (c *checker) litName(lit *ast.FuncLit) string {
	var child ast.Node = lit
	for p := c.parents[lit]; p != nil; child, p = p, c.parents[p] {
		switch p := p.(type) {
		case *ast.CallExpr:
			// app.Register("Name", func...) or bindings.TypedOrchestrator(func...)
			for _, a := range p.Args {
				if tv, ok := c.pass.TypesInfo.Types[a]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
					return constant.StringVal(tv.Value)
				}
			}
			continue
		case *ast.ParenExpr:
			continue
		case *ast.AssignStmt:
			for i, r := range p.Rhs {
				if r == child && i < len(p.Lhs) {
					return types.ExprString(p.Lhs[i])
				}
			}
		case *ast.ValueSpec:
			for i, v := range p.Values {
				if v == child && i < len(p.Names) {
					return p.Names[i].Name
				}
			}
		case *ast.KeyValueExpr:
			if tv, ok := c.pass.TypesInfo.Types[p.Key]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
				return constant.StringVal(tv.Value)
			}
			return types.ExprString(p.Key)
		case *ast.FuncDecl:
			return "func literal in " + p.Name.Name
		}
		if _, ok := p.(ast.Expr); !ok {
			break
		}
	}
	for p := c.parents[lit]; p != nil; p = c.parents[p] {
		if fd, ok := p.(*ast.FuncDecl); ok {
			return "func literal in " + fd.Name.Name
		}
	}
	return "func literal"
}

// indexIgnores records the lines silenced by IgnoreDirective comments.
func (c *checker) indexIgnores() {
	for _, f := range c.pass.Files {
		for _, cg := range f.Comments {
			for _, cm := range cg.List {
				rest, ok := strings.CutPrefix(cm.Text, IgnoreDirective)
				if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
					continue
				}
				pos := c.pass.Fset.Position(cm.Pos())
				lines := c.ignored[pos.Filename]
				if lines == nil {
					lines = map[int]bool{}
					c.ignored[pos.Filename] = lines
				}
				alone, known := c.aloneOnLine(cm)
				if alone || !known {
					lines[pos.Line+1] = true
				}
				if !alone || !known {
					lines[pos.Line] = true
				}
			}
		}
	}
}

// aloneOnLine reports whether only blanks precede cm on its line; known is
// false when the source cannot be read.
func (c *checker) aloneOnLine(cm *ast.Comment) (alone, known bool) {
	tf := c.pass.Fset.File(cm.Pos())
	if tf == nil || c.pass.ReadFile == nil {
		return false, false
	}
	src, err := c.pass.ReadFile(tf.Name())
	if err != nil {
		return false, false
	}
	off := tf.Offset(cm.Pos())
	start := tf.Offset(tf.LineStart(tf.Line(cm.Pos())))
	if start > off || off > len(src) {
		return false, false
	}
	return strings.TrimSpace(string(src[start:off])) == "", true
}

func (c *checker) isIgnored(pos token.Pos) bool {
	p := c.pass.Fset.Position(pos)
	return c.ignored[p.Filename][p.Line]
}

// isOrchestratorSig reports whether sig's first parameter is a
// bindings.OrchestrationContext.
func isOrchestratorSig(sig *types.Signature) bool {
	return sig.Params().Len() > 0 && isBindingsType(sig.Params().At(0).Type(), "OrchestrationContext")
}

func isOrchestratorFunc(fn *types.Func) bool {
	sig, ok := fn.Type().(*types.Signature)
	return ok && isOrchestratorSig(sig)
}

// isForeignSig reports whether sig is shaped for code that does not run in
// an orchestrator: an activity (ActivityContext or context.Context first;
// orchestrators have no context.Context) or an HTTP handler.
func isForeignSig(sig *types.Signature) bool {
	p := sig.Params()
	if p.Len() == 0 {
		return false
	}
	first := p.At(0).Type()
	if isBindingsType(first, "ActivityContext") || isNamedType(first, "context", "Context") {
		return true
	}
	return p.Len() == 2 && isNamedType(first, "net/http", "ResponseWriter")
}

func isBindingsType(t types.Type, name string) bool { return isNamedType(t, bindingsPath, name) }

// isNamedType reports whether t is the named type path.name.
func isNamedType(t types.Type, path, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := n.Obj()
	return obj.Name() == name && obj.Pkg() != nil && obj.Pkg().Path() == path
}

// contextMethod returns the name of the OrchestrationContext method fn, or
// "".
func contextMethod(fn *types.Func) string {
	sig, ok := fn.Type().(*types.Signature)
	if !ok || sig.Recv() == nil {
		return ""
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if isBindingsType(t, "OrchestrationContext") {
		return fn.Name()
	}
	return ""
}

// schedulingMethods are the OrchestrationContext methods that add events to
// the history.
var schedulingMethods = map[string]bool{
	"CallActivity": true, "CallSubOrchestrator": true, "CreateTimer": true,
	"WaitForExternalEvent": true, "SendEvent": true,
}

// schedulingFuncs are the bindings helpers that schedule work.
var schedulingFuncs = map[string]bool{
	"CallActivity": true, "CallSubOrchestrator": true, "WaitForExternalEvent": true,
}

// callEffects reports whether the call to fn schedules durable work or
// continues the orchestration as new, directly or through a helper.
func (c *checker) callEffects(fn *types.Func) (schedules, continues bool) {
	if m := contextMethod(fn); m != "" {
		return schedulingMethods[m], m == "ContinueAsNew"
	}
	if fn.Pkg() != nil && fn.Pkg().Path() == bindingsPath {
		sig, _ := fn.Type().(*types.Signature)
		return sig != nil && sig.Recv() == nil && schedulingFuncs[fn.Name()], false
	}
	if s := c.summaryOf(fn); s != nil {
		return s.Schedules, s.ContinuesAsNew
	}
	return false, false
}

// staticFunc returns the function a call invokes, when it is statically
// known (for generic functions, the generic declaration).
func staticFunc(info *types.Info, call *ast.CallExpr) *types.Func {
	if fn, ok := typeutil.Callee(info, call).(*types.Func); ok {
		return fn.Origin()
	}
	return nil
}
