package determinism

import (
	"go/ast"
	"go/token"
	"go/types"
)

// mode says what kind of code a walker scans.
type mode int

const (
	// modeHelper scans a function that orchestrator code may call.
	modeHelper mode = iota
	// modeOrchestrator scans orchestrator code, which also gets the loop
	// rule (a helper without the context cannot schedule).
	modeOrchestrator
	// modeInit scans a package-level variable's initialisers: what makes
	// the value differ between processes.
	modeInit
)

// walker collects the sites and helper edges of one function body.
type walker struct {
	c    *checker
	s    *scan
	mode mode
	// bodies are the enclosing function bodies (for an initialiser, the
	// expression), innermost last.
	bodies []ast.Node
	// stack holds the nodes being visited.
	stack []ast.Node
	// called holds the identifiers in call position.
	called map[*ast.Ident]bool
	// written holds the identifiers being assigned (not read).
	written map[*ast.Ident]bool
	// commOps are the channel operations of select cases, reported once as
	// the select statement.
	commOps map[ast.Node]bool
}

func (c *checker) newWalker(m mode, outer ast.Node) *walker {
	return &walker{
		c:       c,
		s:       &scan{},
		mode:    m,
		bodies:  []ast.Node{outer},
		called:  map[*ast.Ident]bool{},
		written: map[*ast.Ident]bool{},
		commOps: map[ast.Node]bool{},
	}
}

// scanNode walks a function body or a variable's initialisers.
func (c *checker) scanNode(n node) *scan {
	if n.body != nil {
		return c.scanBody(n.body, modeHelper)
	}
	s := &scan{}
	for _, e := range n.init {
		w := c.newWalker(modeInit, e)
		w.walk(e)
		s.sites = append(s.sites, w.s.sites...)
		s.edges = append(s.edges, w.s.edges...)
		s.icalls = append(s.icalls, w.s.icalls...)
	}
	return s
}

// scanBody walks body. Nested function literals are part of the body
// (they run when it calls them), except those that are orchestrators of
// their own or are shaped as activities or HTTP handlers.
func (c *checker) scanBody(body *ast.BlockStmt, m mode) *scan {
	w := c.newWalker(m, body)
	w.walk(body)
	return w.s
}

func (w *walker) walk(n ast.Node) { ast.Inspect(n, w.visit) }

func (w *walker) info() *types.Info { return w.c.pass.TypesInfo }

func (w *walker) add(pos token.Pos, op string, cat category) {
	w.addChain(pos, nil, op, cat)
}

func (w *walker) addChain(pos token.Pos, chain []Link, op string, cat category) {
	if !w.c.isIgnored(pos) {
		direct := w.mode == modeInit && len(w.bodies) == 1
		w.s.sites = append(w.s.sites, site{pos, chain, op, cat, direct})
	}
}

func (w *walker) visit(n ast.Node) bool {
	if n == nil {
		top := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		if _, ok := top.(*ast.FuncLit); ok {
			w.bodies = w.bodies[:len(w.bodies)-1]
		}
		return true
	}
	switch n := n.(type) {
	case *ast.FuncLit:
		if w.c.rootLits[n] {
			return false // an orchestrator of its own, reported separately
		}
		if sig, ok := w.info().TypeOf(n).(*types.Signature); ok && isForeignSig(sig) {
			return false // an activity or handler defined here, not run here
		}
		w.bodies = append(w.bodies, n.Body)
	case *ast.GoStmt:
		w.add(n.Pos(), "go statement", catGoroutine)
	case *ast.SendStmt:
		if !w.commOps[n] {
			w.add(n.Pos(), "channel send", catChannel)
		}
	case *ast.UnaryExpr:
		if n.Op == token.ARROW && !w.commOps[n] {
			w.add(n.Pos(), "channel receive", catChannel)
		}
		if n.Op == token.AND {
			// &state hands out a pointer through which ctx.Input,
			// json.Unmarshal or Await write the variable.
			w.globalRoot(n, n.X, "address of package-level variable ")
		}
	case *ast.SelectStmt:
		w.selectStmt(n)
	case *ast.RangeStmt:
		w.rangeStmt(n)
	case *ast.ForStmt:
		if w.mode == modeOrchestrator && !w.c.isBounded(n) {
			sched, cont := w.c.loopEffects(n.Body)
			if sched && !cont {
				w.add(n.Pos(), "unbounded loop", catLoop)
			}
		}
	case *ast.AssignStmt:
		if n.Tok != token.DEFINE {
			for _, lhs := range n.Lhs {
				w.write(lhs)
			}
		}
	case *ast.IncDecStmt:
		w.write(n.X)
	case *ast.CallExpr:
		w.call(n)
	case *ast.SelectorExpr:
		if sel, ok := w.info().Selections[n]; ok && sel.Kind() == types.MethodVal && types.IsInterface(sel.Recv()) {
			w.useIfaceMethod(n, sel)
		} else {
			w.use(n.Sel, n.Pos())
		}
		w.push(n)
		w.walk(n.X)
		w.visit(nil)
		return false
	case *ast.Ident:
		w.use(n, n.Pos())
	}
	w.push(n)
	return true
}

func (w *walker) push(n ast.Node) { w.stack = append(w.stack, n) }

// selectStmt reports a select once, not each of its channel operations.
func (w *walker) selectStmt(n *ast.SelectStmt) {
	w.add(n.Pos(), "select statement", catChannel)
	for _, cl := range n.Body.List {
		if cc, ok := cl.(*ast.CommClause); ok && cc.Comm != nil {
			ast.Inspect(cc.Comm, func(m ast.Node) bool {
				switch m := m.(type) {
				case *ast.SendStmt:
					w.commOps[m] = true
				case *ast.UnaryExpr:
					if m.Op == token.ARROW {
						w.commOps[m] = true
					}
				}
				return true
			})
		}
	}
}

// call handles builtins, notes which identifier is called, records
// whether the call schedules work or continues as new, and follows slices
// that come out in map order.
func (w *walker) call(call *ast.CallExpr) {
	fun := ast.Unparen(call.Fun)
	switch f := fun.(type) {
	case *ast.IndexExpr:
		fun = f.X
	case *ast.IndexListExpr:
		fun = f.X
	}
	var id *ast.Ident
	switch f := fun.(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	}
	if id == nil {
		return
	}
	w.called[id] = true
	switch obj := w.info().Uses[id].(type) {
	case *types.Builtin:
		switch obj.Name() {
		case "close":
			w.add(call.Pos(), "close(channel)", catChannel)
		case "print", "println":
			w.add(call.Pos(), obj.Name(), catPrint)
		case "delete", "clear":
			if len(call.Args) > 0 {
				w.write(call.Args[0])
			}
		}
	case *types.Func:
		fn := obj.Origin()
		sched, cont := w.c.callEffects(fn)
		w.s.schedules = w.s.schedules || sched
		w.s.continues = w.s.continues || cont
		w.unorderedCall(call, fn)
	}
}

// use checks one identifier that refers to a function or variable; pos is
// where to report (the start of a qualified name).
func (w *walker) use(id *ast.Ident, pos token.Pos) {
	switch obj := w.info().Uses[id].(type) {
	case *types.Func:
		w.useFunc(id, obj.Origin(), pos)
	case *types.Var:
		if !isPackageLevel(obj) {
			return
		}
		if op, cat, ok := classifyVar(obj); ok {
			w.add(pos, op, cat)
			return
		}
		if w.written[id] {
			return // assigned, not read: the write rule reports it
		}
		if w.c.summaryOf(obj) != nil && !w.c.isIgnored(pos) {
			w.s.edges = append(w.s.edges, edge{pos, obj})
		}
	}
}

// useFunc checks a use of fn through id: a banned function or one marked
// as I/O is a site, a helper of the module an edge.
func (w *walker) useFunc(id *ast.Ident, fn *types.Func, pos token.Pos) {
	if w.mode == modeInit && len(w.bodies) == 1 && w.sharedGenerator(id, fn) {
		w.add(pos, fn.Pkg().Name()+"."+fn.Name(), catSharedRand)
		return
	}
	if op, cat, ok := classifyFunc(fn); ok {
		w.add(pos, op, cat)
		return
	}
	if fn.Pkg() == nil || fn.Pkg().Path() == bindingsPath {
		return
	}
	if w.c.isDeclaredIO(fn) {
		w.add(pos, linkOf(fn).qualified(), catDeclaredIO)
		return
	}
	if sig, ok := fn.Type().(*types.Signature); ok && isForeignSig(sig) && !w.called[id] {
		return // an activity or handler passed along, not run here
	}
	if fn.Pkg() == w.c.pass.Pkg || w.c.summaryOf(fn) != nil {
		if !w.c.isIgnored(pos) {
			w.s.edges = append(w.s.edges, edge{pos, fn})
		}
	}
}

// sharedGenerator reports whether id, in a package-level variable's
// initialiser, calls a math/rand constructor whose generator the variable
// then shares (rand.New(rand.NewSource(1)) counts once, as rand.New).
func (w *walker) sharedGenerator(id *ast.Ident, fn *types.Func) bool {
	if fn.Pkg() == nil || !isMathRand(fn.Pkg().Path()) || !seededRandConstructors[fn.Name()] || !w.called[id] {
		return false
	}
	for p := w.c.parents[id]; p != nil; p = w.c.parents[p] {
		call, ok := p.(*ast.CallExpr)
		if !ok {
			continue
		}
		if identOf(call.Fun) == id {
			continue // the call id makes
		}
		outer := staticFunc(w.info(), call)
		return outer == nil || !isMathRand(pkgPath(outer)) || !seededRandConstructors[outer.Name()]
	}
	return true
}

// write reports an assignment to lhs when it lands in a package-level
// variable: the variable itself, one of its fields or elements, or what it
// points to.
func (w *walker) write(lhs ast.Expr) {
	if id, ok := ast.Unparen(lhs).(*ast.Ident); ok {
		w.written[id] = true
	}
	w.globalRoot(lhs, lhs, "write to package-level variable ")
}

// globalRoot reports at at when e is a package-level variable or one of
// its fields or elements (or what it points to); what prefixes the
// variable's name in the report.
func (w *walker) globalRoot(at ast.Node, e ast.Expr, what string) {
	for {
		switch x := ast.Unparen(e).(type) {
		case *ast.SelectorExpr:
			if sel, ok := w.info().Selections[x]; ok {
				if sel.Kind() != types.FieldVal {
					return
				}
				e = x.X
				continue
			}
			e = x.Sel // a qualified identifier: pkg.Var
			continue
		case *ast.IndexExpr:
			e = x.X // an element of a global map, slice or array
			continue
		case *ast.StarExpr:
			e = x.X
			continue
		case *ast.Ident:
			if v, ok := w.info().Uses[x].(*types.Var); ok && isPackageLevel(v) {
				w.written[x] = true // written through, not read
				w.add(at.Pos(), what+v.Name(), catGlobal)
			}
		}
		return
	}
}

func isPackageLevel(v *types.Var) bool {
	return v.Pkg() != nil && !v.IsField() && v.Parent() == v.Pkg().Scope()
}

func isMathRand(path string) bool { return path == "math/rand" || path == "math/rand/v2" }

func pkgPath(obj types.Object) string {
	if obj.Pkg() == nil {
		return ""
	}
	return obj.Pkg().Path()
}
