package determinism

import (
	"go/ast"
	"go/token"
	"go/types"
)

// walker collects the sites and helper edges of one function body.
type walker struct {
	c *checker
	s *scan
	// orchestrator is set when the body is orchestrator code, which also
	// gets the loop rule (a helper without the context cannot schedule).
	orchestrator bool
	// bodies are the enclosing function bodies, innermost last.
	bodies []*ast.BlockStmt
	// stack holds the nodes being visited.
	stack []ast.Node
	// called holds the identifiers in call position.
	called map[*ast.Ident]bool
	// commOps are the channel operations of select cases, reported once as
	// the select statement.
	commOps map[ast.Node]bool
}

// scanBody walks body. Nested function literals are part of the body
// (they run when it calls them), except those that are orchestrators of
// their own or are shaped as activities or HTTP handlers.
func (c *checker) scanBody(body *ast.BlockStmt, orchestrator bool) *scan {
	w := &walker{
		c:            c,
		s:            &scan{},
		orchestrator: orchestrator,
		bodies:       []*ast.BlockStmt{body},
		called:       map[*ast.Ident]bool{},
		commOps:      map[ast.Node]bool{},
	}
	w.walk(body)
	return w.s
}

func (w *walker) walk(n ast.Node) { ast.Inspect(n, w.visit) }

func (w *walker) info() *types.Info { return w.c.pass.TypesInfo }

func (w *walker) add(pos token.Pos, op string, cat category) {
	if !w.c.isIgnored(pos) {
		w.s.sites = append(w.s.sites, site{pos, op, cat})
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
	case *ast.RangeStmt:
		w.rangeStmt(n)
	case *ast.ForStmt:
		if w.orchestrator && !w.c.isBounded(n) {
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
		w.use(n.Sel, n.Pos())
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

// call handles builtins, notes which identifier is called, and records
// whether the call schedules work or continues as new.
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
		sched, cont := w.c.callEffects(obj.Origin())
		w.s.schedules = w.s.schedules || sched
		w.s.continues = w.s.continues || cont
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
		}
		if fn := w.c.funcVars[obj]; fn != nil && w.called[id] {
			w.useFunc(id, fn, pos) // now() where var now = time.Now
		}
	}
}

// useFunc checks a use of fn through id: a banned function is a site, a
// helper of the module an edge.
func (w *walker) useFunc(id *ast.Ident, fn *types.Func, pos token.Pos) {
	if op, cat, ok := classifyFunc(fn); ok {
		w.add(pos, op, cat)
		return
	}
	if fn.Pkg() == nil || fn.Pkg().Path() == bindingsPath {
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

// write reports an assignment to lhs when it lands in a package-level
// variable: the variable itself, one of its fields or elements, or what it
// points to.
func (w *walker) write(lhs ast.Expr) {
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
				w.add(at.Pos(), what+v.Name(), catGlobal)
			}
		}
		return
	}
}

func isPackageLevel(v *types.Var) bool {
	return v.Pkg() != nil && !v.IsField() && v.Parent() == v.Pkg().Scope()
}

// rangeStmt checks ranging over a channel or a map (directly or through
// maps.Keys, maps.Values or maps.All, which keep the map's order).
func (w *walker) rangeStmt(rs *ast.RangeStmt) {
	t := w.info().TypeOf(rs.X)
	if t == nil {
		return
	}
	switch t.Underlying().(type) {
	case *types.Chan:
		w.add(rs.Pos(), "range over channel", catChannel)
		return
	case *types.Map:
		if !w.orderInsensitive(rs) {
			w.add(rs.Pos(), "range over map", catMapRange)
		}
		return
	}
	if call, ok := ast.Unparen(rs.X).(*ast.CallExpr); ok {
		if fn := staticFunc(w.info(), call); fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == "maps" {
			switch fn.Name() {
			case "Keys", "Values", "All":
				if !w.orderInsensitive(rs) {
					w.add(rs.Pos(), "range over maps."+fn.Name(), catMapRange)
				}
			}
		}
	}
}

// orderInsensitive reports whether a map range's body gives the same
// result in any order: it only fills another map, adds up integers, or
// appends to slices that the function sorts afterwards (the recommended way
// to get a map's keys in order).
func (w *walker) orderInsensitive(rs *ast.RangeStmt) bool {
	if w.c.usesContext(rs.Body) {
		return false // results[k] = ctx.CallActivity(...) schedules in map order
	}
	var appended []types.Object
	for _, st := range rs.Body.List {
		switch st := st.(type) {
		case *ast.IncDecStmt:
			if !w.isMapElem(st.X) && !w.isInteger(st.X) {
				return false
			}
		case *ast.AssignStmt:
			if len(st.Lhs) != 1 || len(st.Rhs) != 1 {
				return false
			}
			lhs := ast.Unparen(st.Lhs[0])
			switch st.Tok {
			case token.ASSIGN:
				if w.isMapElem(lhs) {
					continue
				}
				id, ok := lhs.(*ast.Ident)
				call, ok2 := ast.Unparen(st.Rhs[0]).(*ast.CallExpr)
				if !ok || !ok2 || len(call.Args) == 0 {
					return false
				}
				if b, ok := w.info().Uses[identOf(call.Fun)].(*types.Builtin); !ok || b.Name() != "append" {
					return false
				}
				first, ok := ast.Unparen(call.Args[0]).(*ast.Ident)
				obj := w.info().ObjectOf(id)
				if !ok || obj == nil || w.info().ObjectOf(first) != obj {
					return false
				}
				appended = append(appended, obj)
			case token.ADD_ASSIGN, token.OR_ASSIGN, token.AND_ASSIGN, token.XOR_ASSIGN:
				if !w.isInteger(lhs) && !w.isMapElem(lhs) {
					return false
				}
			default:
				return false
			}
		default:
			return false
		}
	}
	for _, obj := range appended {
		if !w.sortedLater(obj) {
			return false
		}
	}
	return true
}

func (w *walker) isMapElem(e ast.Expr) bool {
	ix, ok := ast.Unparen(e).(*ast.IndexExpr)
	if !ok {
		return false
	}
	_, ok = w.info().TypeOf(ix.X).Underlying().(*types.Map)
	return ok
}

func (w *walker) isInteger(e ast.Expr) bool {
	b, ok := w.info().TypeOf(e).Underlying().(*types.Basic)
	return ok && b.Info()&types.IsInteger != 0
}

// sortFuncs sort their first argument in place.
var sortFuncs = map[string]map[string]bool{
	"sort":   {"Strings": true, "Ints": true, "Float64s": true, "Slice": true, "SliceStable": true},
	"slices": {"Sort": true, "SortFunc": true, "SortStableFunc": true},
}

// sortedLater reports whether the enclosing function sorts obj.
func (w *walker) sortedLater(obj types.Object) bool {
	found := false
	ast.Inspect(w.bodies[len(w.bodies)-1], func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || found || len(call.Args) == 0 {
			return !found
		}
		fn := staticFunc(w.info(), call)
		if fn == nil || fn.Pkg() == nil || !sortFuncs[fn.Pkg().Path()][fn.Name()] {
			return true
		}
		if id, ok := ast.Unparen(call.Args[0]).(*ast.Ident); ok && w.info().ObjectOf(id) == obj {
			found = true
		}
		return !found
	})
	return found
}

func identOf(e ast.Expr) *ast.Ident {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		return e
	case *ast.SelectorExpr:
		return e.Sel
	}
	return nil
}

// isBounded reports whether a for loop has a bound: a condition or an exit
// (an if whose body ends in break or return) that depends on a counter the
// loop steps (i++, n -= k, queue = queue[1:]) or on the deterministic clock
// (ctx.CurrentUTCDateTime(), directly or through a variable the loop
// refreshes from it) — the monitor pattern. A three-clause loop with a
// condition is bounded too. Loops that end only on events or results are
// not: their history grows with every iteration.
func (c *checker) isBounded(fs *ast.ForStmt) bool {
	if fs.Cond != nil && fs.Post != nil {
		return true
	}
	info := c.pass.TypesInfo
	// moving holds the variables the loop steps or refreshes from the clock.
	moving := map[types.Object]bool{}
	mark := func(e ast.Expr) {
		if id, ok := ast.Unparen(e).(*ast.Ident); ok {
			if obj := info.ObjectOf(id); obj != nil {
				moving[obj] = true
			}
		}
	}
	var exits []ast.Expr
	if fs.Cond != nil {
		exits = append(exits, fs.Cond)
	}
	ast.Inspect(fs.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.IncDecStmt:
			mark(n.X)
		case *ast.IfStmt:
			if k := len(n.Body.List); k > 0 {
				switch last := n.Body.List[k-1].(type) {
				case *ast.ReturnStmt:
					exits = append(exits, n.Cond)
				case *ast.BranchStmt:
					if last.Tok == token.BREAK {
						exits = append(exits, n.Cond)
					}
				}
			}
		case *ast.AssignStmt:
			switch n.Tok {
			case token.ADD_ASSIGN, token.SUB_ASSIGN, token.MUL_ASSIGN, token.QUO_ASSIGN,
				token.SHL_ASSIGN, token.SHR_ASSIGN:
				mark(n.Lhs[0])
			case token.ASSIGN:
				for i, rhs := range n.Rhs {
					if i >= len(n.Lhs) {
						break
					}
					if c.readsClock(rhs) {
						mark(n.Lhs[i])
					}
					if sl, ok := ast.Unparen(rhs).(*ast.SliceExpr); ok {
						if x, ok := ast.Unparen(sl.X).(*ast.Ident); ok {
							if l, ok := ast.Unparen(n.Lhs[i]).(*ast.Ident); ok && info.ObjectOf(x) == info.ObjectOf(l) {
								mark(l) // queue = queue[1:]
							}
						}
					}
				}
			}
		}
		return true
	})
	for _, e := range exits {
		if c.readsClock(e) {
			return true
		}
		found := false
		ast.Inspect(e, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && moving[info.ObjectOf(id)] {
				found = true
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

// readsClock reports whether e calls ctx.CurrentUTCDateTime().
func (c *checker) readsClock(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if fn := staticFunc(c.pass.TypesInfo, call); fn != nil && contextMethod(fn) == "CurrentUTCDateTime" {
				found = true
			}
		}
		return !found
	})
	return found
}

// loopEffects reports whether a loop body schedules durable work and
// whether it continues as new, directly or through helpers.
func (c *checker) loopEffects(body *ast.BlockStmt) (schedules, continues bool) {
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			if c.rootLits[n] {
				return false
			}
			if sig, ok := c.pass.TypesInfo.TypeOf(n).(*types.Signature); ok && isForeignSig(sig) {
				return false
			}
		case *ast.CallExpr:
			if fn := staticFunc(c.pass.TypesInfo, n); fn != nil {
				s, k := c.callEffects(fn)
				schedules = schedules || s
				continues = continues || k
			}
		}
		return true
	})
	return schedules, continues
}

// usesContext reports whether n calls into the durable context: a method of
// OrchestrationContext or Task, a bindings function, or a helper that
// schedules work. Their order is part of the history (even NewGUID's).
func (c *checker) usesContext(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		call, ok := m.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		fn := staticFunc(c.pass.TypesInfo, call)
		if fn == nil {
			return true
		}
		if fn.Pkg() != nil && fn.Pkg().Path() == bindingsPath {
			found = true
		} else if sched, cont := c.callEffects(fn); sched || cont {
			found = true
		}
		return !found
	})
	return found
}
