package determinism

import (
	"go/ast"
	"go/token"
	"go/types"
)

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
