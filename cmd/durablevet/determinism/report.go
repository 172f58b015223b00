package determinism

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"strings"
)

// report emits the findings of one orchestrator's body: its own
// operations where they are, and its helpers' at the call.
func (c *checker) report(root string, sc *scan) {
	for _, st := range sc.sites {
		c.reportf(st.pos, root, Finding{Chain: st.chain, Op: st.op, Cat: st.cat})
	}
	for _, f := range c.reachedAt(sc) {
		c.reportf(f.pos, root, f.Finding)
	}
}

// posFinding is a finding reached from a position in a body.
type posFinding struct {
	pos token.Pos
	Finding
}

// reachedAt is reached, keeping the position of each edge.
func (c *checker) reachedAt(sc *scan) []posFinding {
	var out []posFinding
	for _, e := range sc.edges {
		for _, f := range c.reached(&scan{edges: []edge{e}}) {
			out = append(out, posFinding{e.pos, f})
		}
	}
	for _, ic := range sc.icalls {
		for _, f := range c.ifaceFindings(ic) {
			out = append(out, posFinding{ic.pos, f})
		}
	}
	return out
}

// reportf reports f at pos as reached from the orchestrator root:
// "root → helper → … → op: hint".
func (c *checker) reportf(pos token.Pos, root string, f Finding) {
	pkg := c.pass.Pkg.Path()
	chain := []string{root}
	for _, l := range f.Chain {
		chain = append(chain, l.render(pkg))
	}
	chain = append(chain, f.Op)
	c.pass.Reportf(pos, "%s: %s", strings.Join(chain, " → "), hints[f.Cat])
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
