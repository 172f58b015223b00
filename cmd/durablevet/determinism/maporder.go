package determinism

import (
	"go/ast"
	"go/token"
	"go/types"
)

// rangeStmt checks ranging over a channel or a map (directly or through
// maps.Keys, maps.Values or maps.All, which keep the map's order).
func (w *walker) rangeStmt(rs *ast.RangeStmt) {
	t := w.info().TypeOf(rs.X)
	if t == nil {
		return
	}
	var op string
	keyed := false // the range key is the map's key: unique per iteration
	switch t.Underlying().(type) {
	case *types.Chan:
		w.add(rs.Pos(), "range over channel", catChannel)
		return
	case *types.Map:
		op, keyed = "range over map", true
	default:
		call, ok := ast.Unparen(rs.X).(*ast.CallExpr)
		if !ok {
			return
		}
		name := mapIterFunc(w.info(), call)
		switch name {
		case "Keys", "All":
			keyed = true
		case "Values":
		default:
			return
		}
		op = "range over maps." + name
	}
	ok, appended := w.orderInsensitive(rs, keyed)
	if !ok {
		w.add(rs.Pos(), op, catMapRange)
		return
	}
	for _, obj := range appended {
		switch {
		case w.sortedLater(obj):
		case w.returnedBare(obj):
			w.setUnordered(Finding{Op: op, Cat: catMapOrder}) // the caller may sort it
		default:
			w.add(rs.Pos(), op, catMapRange)
			return
		}
	}
}

// mapIterFunc returns "Keys", "Values" or "All" when call is that function
// of the maps package (or of golang.org/x/exp/maps), "" otherwise.
func mapIterFunc(info *types.Info, call *ast.CallExpr) string {
	fn := staticFunc(info, call)
	if fn == nil || (pkgPath(fn) != "maps" && pkgPath(fn) != "golang.org/x/exp/maps") {
		return ""
	}
	switch fn.Name() {
	case "Keys", "Values", "All":
		return fn.Name()
	}
	return ""
}

// unorderedCall follows a call whose result is a slice in map order:
// slices.Collect(maps.Keys(m)) (or Values, or slices.AppendSeq), an
// x/exp/maps.Keys that returns a slice, or a helper that returns such a
// slice unsorted.
func (w *walker) unorderedCall(call *ast.CallExpr, fn *types.Func) {
	var f *Finding
	switch name := mapIterFunc(w.info(), call); {
	case pkgPath(fn) == "slices" && (fn.Name() == "Collect" || fn.Name() == "AppendSeq") && len(call.Args) > 0:
		if arg, ok := ast.Unparen(call.Args[len(call.Args)-1]).(*ast.CallExpr); ok {
			if it := mapIterFunc(w.info(), arg); it == "Keys" || it == "Values" {
				f = &Finding{Op: "slices." + fn.Name() + "(maps." + it + ")", Cat: catMapOrder}
			}
		}
	case name == "Keys" || name == "Values":
		if _, ok := w.info().TypeOf(call).Underlying().(*types.Slice); ok {
			f = &Finding{Op: "maps." + name, Cat: catMapOrder}
		}
	default:
		if s := w.c.summaryOf(fn); s != nil && s.Unordered != nil {
			g := s.Unordered.via(linkOf(fn))
			f = &g
		}
	}
	if f != nil {
		w.unorderedValue(call, *f)
	}
}

// unorderedValue decides what an unordered slice e leads to: nothing when
// it is sorted (in place, or through the variable it is stored in), an
// unordered result when the function returns it, and otherwise the
// finding f at e.
func (w *walker) unorderedValue(e ast.Expr, f Finding) {
	at := e
	p := w.c.parents[e]
	for {
		pe, ok := p.(*ast.ParenExpr)
		if !ok {
			break
		}
		e, p = pe, w.c.parents[pe]
	}
	switch p := p.(type) {
	case *ast.AssignStmt:
		if lhs, ok := storedIn(p.Lhs, p.Rhs, e); ok {
			w.unorderedVar(lhs, at, f)
			return
		}
	case *ast.ValueSpec:
		if lhs, ok := storedIn(p.Names, p.Values, e); ok {
			w.unorderedVar(lhs, at, f)
			return
		}
	case *ast.ReturnStmt:
		if w.inDeclBody() {
			w.setUnordered(f)
			return
		}
	case *ast.CallExpr:
		if len(p.Args) > 0 && p.Args[0] == e && (w.isSortCall(p) || isBuiltinCall(w.info(), p, "len")) {
			return
		}
	}
	w.addChain(at.Pos(), f.Chain, f.Op, f.Cat)
}

// storedIn returns the left-hand side that e, one of values, is assigned
// to in lhs = values.
func storedIn[L ast.Expr](lhs []L, values []ast.Expr, e ast.Expr) (ast.Expr, bool) {
	if len(lhs) != len(values) {
		return nil, false
	}
	for i, v := range values {
		if v == e {
			return lhs[i], true
		}
	}
	return nil, false
}

// unorderedVar handles an unordered slice stored in lhs.
func (w *walker) unorderedVar(lhs ast.Expr, at ast.Expr, f Finding) {
	if id, ok := ast.Unparen(lhs).(*ast.Ident); ok {
		if v, ok := w.info().ObjectOf(id).(*types.Var); ok && !isPackageLevel(v) {
			switch {
			case w.sortedLater(v):
				return
			case w.returnedBare(v):
				w.setUnordered(f)
				return
			}
		}
	}
	w.addChain(at.Pos(), f.Chain, f.Op, f.Cat)
}

func (w *walker) setUnordered(f Finding) {
	if w.s.unordered == nil {
		w.s.unordered = &f
	}
}

// inDeclBody reports whether the walker is in a function declaration's
// own body (not in a literal inside it, nor in an initialiser), where a
// return statement returns from the declared function.
func (w *walker) inDeclBody() bool { return w.mode != modeInit && len(w.bodies) == 1 }

// returnedBare reports whether the declared function returns obj as one of
// its results, as it is.
func (w *walker) returnedBare(obj types.Object) bool {
	if !w.inDeclBody() {
		return false
	}
	found := false
	ast.Inspect(w.bodies[0], func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			for _, r := range n.Results {
				if id, ok := ast.Unparen(r).(*ast.Ident); ok && w.info().ObjectOf(id) == obj {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// sortFuncs sort their first argument in place.
var sortFuncs = map[string]map[string]bool{
	"sort":   {"Strings": true, "Ints": true, "Float64s": true, "Slice": true, "SliceStable": true, "Sort": true, "Stable": true},
	"slices": {"Sort": true, "SortFunc": true, "SortStableFunc": true},
}

func (w *walker) isSortCall(call *ast.CallExpr) bool {
	fn := staticFunc(w.info(), call)
	return fn != nil && sortFuncs[pkgPath(fn)][fn.Name()]
}

// sortedLater reports whether the enclosing function sorts obj: passes it,
// or a conversion of it (sort.Sort(sort.StringSlice(keys))), to a sort
// function.
func (w *walker) sortedLater(obj types.Object) bool {
	found := false
	ast.Inspect(w.bodies[len(w.bodies)-1], func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || found || len(call.Args) == 0 {
			return !found
		}
		if !w.isSortCall(call) {
			return true
		}
		arg := ast.Unparen(call.Args[0])
		if conv, ok := arg.(*ast.CallExpr); ok && len(conv.Args) == 1 && w.info().Types[conv.Fun].IsType() {
			arg = ast.Unparen(conv.Args[0])
		}
		if id, ok := arg.(*ast.Ident); ok && w.info().ObjectOf(id) == obj {
			found = true
		}
		return !found
	})
	return found
}

func isBuiltinCall(info *types.Info, call *ast.CallExpr, name string) bool {
	b, ok := info.Uses[identOf(call.Fun)].(*types.Builtin)
	return ok && b.Name() == name
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

// loopCheck decides whether a map range's body gives the same result in
// any order.
type loopCheck struct {
	w *walker
	// key is the range's key variable when it is the map's key, which is
	// different on every iteration.
	key types.Object
	// appended are the local slices the body appends to; their order is
	// the map's unless they are sorted afterwards.
	appended []types.Object
	// accumulates is set when the body folds values into an accumulator,
	// exits when it can leave the loop early (break, return): together they
	// make the result depend on which iterations ran.
	accumulates, exits bool
}

// orderInsensitive reports whether a map range's body gives the same
// result in any order, and which slices it appends to. Accepted bodies
// only:
//   - declare temporaries, and skip iterations (continue);
//   - count, add up or multiply integers, and fold with | & ^ into them;
//   - keep a minimum or maximum (best = max(best, v), or if v > best {
//     best = v });
//   - set a flag to a constant (found = true), or fold booleans (ok = ok
//     && v > 0), possibly leaving the loop (break, or return constants)
//     when that is all they do: any / all;
//   - fill another map under the range key, set an entry to a constant
//     (sets), keep a per-entry min/max, or delete entries;
//   - append to local slices (which the caller must sort);
//
// inside if statements whose conditions may be anything that does not use
// the durable context. Floating-point sums are not accepted: their last
// bits depend on the order.
func (w *walker) orderInsensitive(rs *ast.RangeStmt, keyed bool) (bool, []types.Object) {
	if w.c.usesContext(rs.Body) {
		return false, nil // results[k] = ctx.CallActivity(...) schedules in map order
	}
	lc := &loopCheck{w: w}
	if id, ok := rs.Key.(*ast.Ident); ok && keyed {
		lc.key = w.info().ObjectOf(id)
	}
	if !lc.stmts(rs.Body.List) || (lc.exits && lc.accumulates) {
		return false, nil
	}
	return true, lc.appended
}

func (lc *loopCheck) stmts(list []ast.Stmt) bool {
	for _, st := range list {
		if !lc.stmt(st) {
			return false
		}
	}
	return true
}

func (lc *loopCheck) stmt(st ast.Stmt) bool {
	info := lc.w.info()
	switch st := st.(type) {
	case *ast.IncDecStmt:
		lc.accumulates = true
		return lc.integerTarget(st.X)
	case *ast.AssignStmt:
		return lc.assign(st)
	case *ast.IfStmt:
		if lc.isMinMaxIf(st) {
			lc.accumulates = true
			return true
		}
		if (st.Init != nil && !lc.stmt(st.Init)) || !lc.stmts(st.Body.List) {
			return false
		}
		return st.Else == nil || lc.stmt(st.Else)
	case *ast.BlockStmt:
		return lc.stmts(st.List)
	case *ast.BranchStmt:
		if st.Label != nil {
			return false
		}
		if st.Tok == token.BREAK {
			lc.exits = true
		}
		return st.Tok == token.BREAK || st.Tok == token.CONTINUE
	case *ast.ReturnStmt:
		for _, r := range st.Results {
			if !lc.constant(r) {
				return false
			}
		}
		lc.exits = true
		return true
	case *ast.ExprStmt:
		call, ok := ast.Unparen(st.X).(*ast.CallExpr)
		return ok && isBuiltinCall(info, call, "delete")
	case *ast.DeclStmt, *ast.EmptyStmt:
		return true
	}
	return false
}

func (lc *loopCheck) assign(st *ast.AssignStmt) bool {
	switch st.Tok {
	case token.DEFINE:
		return true // temporaries of one iteration
	case token.ASSIGN:
		if len(st.Lhs) != len(st.Rhs) {
			return false
		}
		for i := range st.Lhs {
			if !lc.assignOne(ast.Unparen(st.Lhs[i]), ast.Unparen(st.Rhs[i])) {
				return false
			}
		}
		return true
	case token.ADD_ASSIGN, token.MUL_ASSIGN, token.OR_ASSIGN, token.AND_ASSIGN, token.XOR_ASSIGN:
		lc.accumulates = true
		return len(st.Lhs) == 1 && lc.integerTarget(st.Lhs[0])
	}
	return false
}

// assignOne checks lhs = rhs.
func (lc *loopCheck) assignOne(lhs, rhs ast.Expr) bool {
	w := lc.w
	if ix, ok := lhs.(*ast.IndexExpr); ok && w.isMapElem(ix) {
		lc.accumulates = true
		return lc.isKey(ix.Index) || lc.constant(rhs) || lc.isMinMax(lhs, rhs)
	}
	id, ok := lhs.(*ast.Ident)
	if !ok || !lc.isLocal(id) {
		return false
	}
	if lc.constant(rhs) {
		return true // found = true: the same whichever iteration sets it
	}
	lc.accumulates = true
	if call, ok := rhs.(*ast.CallExpr); ok && isBuiltinCall(w.info(), call, "append") && len(call.Args) > 0 {
		if first, ok := ast.Unparen(call.Args[0]).(*ast.Ident); ok && w.info().ObjectOf(first) == w.info().ObjectOf(id) {
			lc.appended = append(lc.appended, w.info().ObjectOf(id))
			return true
		}
		return false
	}
	if lc.isMinMax(lhs, rhs) {
		return true
	}
	bin, ok := rhs.(*ast.BinaryExpr)
	if !ok || !(sameExpr(bin.X, lhs) || sameExpr(bin.Y, lhs)) {
		return false
	}
	switch bin.Op {
	case token.LOR, token.LAND:
		return true // ok = ok && v > 0
	case token.ADD, token.MUL, token.OR, token.AND, token.XOR:
		return w.isInteger(lhs)
	}
	return false
}

// isMinMax reports whether rhs is min(lhs, …) or max(lhs, …).
func (lc *loopCheck) isMinMax(lhs, rhs ast.Expr) bool {
	call, ok := rhs.(*ast.CallExpr)
	if !ok || !(isBuiltinCall(lc.w.info(), call, "min") || isBuiltinCall(lc.w.info(), call, "max")) {
		return false
	}
	for _, a := range call.Args {
		if sameExpr(a, lhs) {
			return true
		}
	}
	return false
}

// isMinMaxIf reports whether st is if v > best { best = v } (with any of
// < <= > >=): the value kept is the same in any order, even with ties.
func (lc *loopCheck) isMinMaxIf(st *ast.IfStmt) bool {
	cond, ok := ast.Unparen(st.Cond).(*ast.BinaryExpr)
	if !ok || st.Init != nil || st.Else != nil || len(st.Body.List) != 1 {
		return false
	}
	switch cond.Op {
	case token.LSS, token.GTR, token.LEQ, token.GEQ:
	default:
		return false
	}
	as, ok := st.Body.List[0].(*ast.AssignStmt)
	if !ok || as.Tok != token.ASSIGN || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
		return false
	}
	id, ok := ast.Unparen(as.Lhs[0]).(*ast.Ident)
	if !ok || !lc.isLocal(id) {
		return false
	}
	l, r := as.Lhs[0], as.Rhs[0]
	return (sameExpr(l, cond.X) && sameExpr(r, cond.Y)) || (sameExpr(l, cond.Y) && sameExpr(r, cond.X))
}

func (lc *loopCheck) isKey(e ast.Expr) bool {
	id, ok := ast.Unparen(e).(*ast.Ident)
	return ok && lc.key != nil && lc.w.info().ObjectOf(id) == lc.key
}

// constant reports whether e is the same on every iteration: a constant,
// nil, or an empty composite literal (struct{}{}).
func (lc *loopCheck) constant(e ast.Expr) bool {
	tv, ok := lc.w.info().Types[e]
	if ok && (tv.Value != nil || tv.IsNil()) {
		return true
	}
	cl, ok := ast.Unparen(e).(*ast.CompositeLit)
	return ok && len(cl.Elts) == 0
}

func (lc *loopCheck) isLocal(id *ast.Ident) bool {
	v, ok := lc.w.info().ObjectOf(id).(*types.Var)
	return ok && !isPackageLevel(v)
}

// integerTarget reports whether e is a local integer or an element of a
// map (counts[v]++).
func (lc *loopCheck) integerTarget(e ast.Expr) bool {
	e = ast.Unparen(e)
	if ix, ok := e.(*ast.IndexExpr); ok && lc.w.isMapElem(ix) {
		return true
	}
	id, ok := e.(*ast.Ident)
	return ok && lc.isLocal(id) && lc.w.isInteger(e)
}

func (w *walker) isMapElem(ix *ast.IndexExpr) bool {
	t := w.info().TypeOf(ix.X)
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Map)
	return ok
}

func (w *walker) isInteger(e ast.Expr) bool {
	t := w.info().TypeOf(e)
	if t == nil {
		return false
	}
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsInteger != 0
}

// sameExpr reports whether a and b are the same expression, as written.
func sameExpr(a, b ast.Expr) bool {
	return types.ExprString(ast.Unparen(a)) == types.ExprString(ast.Unparen(b))
}
