package determinism

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

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

// hasDirective reports whether a comment of cg is the directive dir,
// optionally followed by a reason.
func hasDirective(cg *ast.CommentGroup, dir string) bool {
	if cg == nil {
		return false
	}
	for _, cm := range cg.List {
		if rest, ok := strings.CutPrefix(cm.Text, dir); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return true
		}
	}
	return false
}

// packageMarkedIO reports whether a comment before a package clause of the
// package is IODirective.
func (c *checker) packageMarkedIO() bool {
	for _, f := range c.pass.Files {
		for _, cg := range f.Comments {
			if cg.Pos() < f.Package && hasDirective(cg, IODirective) {
				return true
			}
		}
	}
	return false
}

// markDeclaredIO records the functions, methods and interface methods that
// IODirective marks, directly or through their type or package.
func (c *checker) markDeclaredIO() {
	whole := c.packageMarkedIO()
	info := c.pass.TypesInfo
	mark := func(obj types.Object) {
		if fn, ok := obj.(*types.Func); ok {
			c.ioMarked[fn] = true
		}
	}
	for _, f := range c.pass.Files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if whole || hasDirective(d.Doc, IODirective) {
					mark(info.Defs[d.Name])
				}
			case *ast.GenDecl:
				if d.Tok != token.TYPE {
					continue
				}
				for _, spec := range d.Specs {
					ts := spec.(*ast.TypeSpec)
					marked := whole || hasDirective(d.Doc, IODirective) || hasDirective(ts.Doc, IODirective)
					c.markType(ts, marked, mark)
				}
			}
		}
	}
}

// markType marks the methods of a type declaration: all of them when the
// type is marked, or the interface methods marked one by one.
func (c *checker) markType(ts *ast.TypeSpec, marked bool, mark func(types.Object)) {
	tn, ok := c.pass.TypesInfo.Defs[ts.Name].(*types.TypeName)
	if !ok {
		return
	}
	if it, ok := ts.Type.(*ast.InterfaceType); ok {
		for _, fld := range it.Methods.List {
			if marked || hasDirective(fld.Doc, IODirective) || hasDirective(fld.Comment, IODirective) {
				for _, name := range fld.Names {
					mark(c.pass.TypesInfo.Defs[name])
				}
			}
		}
		return
	}
	if n, ok := types.Unalias(tn.Type()).(*types.Named); ok && marked {
		for i := range n.NumMethods() {
			mark(n.Method(i))
		}
	}
}

// isDeclaredIO reports whether IODirective marks fn, in this package or in
// another package of the module.
func (c *checker) isDeclaredIO(fn *types.Func) bool {
	if c.ioMarked[fn] {
		return true
	}
	s := c.summaryOf(fn)
	return s != nil && s.DeclaredIO
}
