package determinism

import (
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"
)

// Impls is a package fact: the named types of the package, and of the
// module's packages it imports directly or not, with their method sets and
// what each method does, so that a call through one of the module's
// interfaces, in a package that imports this one, can be followed to the
// implementations (unexported ones included). It carries the imported
// packages' types along because go vet hands an analysis only the package
// facts of its direct imports.
type Impls struct {
	Module   string
	Packages []ImplPackage
}

// ImplPackage is one package's named types.
type ImplPackage struct {
	Path  string
	Types []ImplType
}

// ImplType is one named type and its methods (those of its pointer).
type ImplType struct {
	Name    string
	Methods []ImplMethod
}

// ImplMethod is one method of an ImplType.
type ImplMethod struct {
	// Key is the method's name and signature (see methodKey).
	Key  string
	Link Link
	// Orchestrator is set when the method takes the context first: it is
	// orchestrator code, checked on its own.
	Orchestrator bool
	DeclaredIO   bool
	Findings     []Finding
}

// AFact marks Impls as an analysis fact.
func (*Impls) AFact() {}

func (i *Impls) String() string {
	var names []string
	for _, p := range i.Packages {
		for _, t := range p.Types {
			names = append(names, p.Path+"."+t.Name)
		}
	}
	return "impls(" + strings.Join(names, ", ") + ")"
}

// ifaceCall is a call through an interface of the module, with the
// implementations of the called method that the package can see.
type ifaceCall struct {
	pos   token.Pos
	iface Link // the interface method, e.g. Store.Save
	impls []implRef
}

// implRef is one implementation of a called interface method: a method of
// this package (fn set; its summary grows as the analysis goes) or of a
// package it imports (fixed, from that package's Impls fact).
type implRef struct {
	fn *types.Func
	ImplMethod
}

// useIfaceMethod checks a method selected through an interface value: a
// banned or marked interface method is a site; otherwise, for the
// module's own interfaces, the call is followed to the implementations.
func (w *walker) useIfaceMethod(sx *ast.SelectorExpr, sel *types.Selection) {
	fn, ok := sel.Obj().(*types.Func)
	if !ok {
		return
	}
	pos := sx.Pos()
	if op, cat, ok := classifyFunc(fn); ok {
		w.add(pos, op, cat)
		return
	}
	if w.c.isDeclaredIO(fn) {
		w.add(pos, linkOf(fn).qualified(), catDeclaredIO)
		return
	}
	if impls := w.c.implementations(sel.Recv(), fn); len(impls) > 0 && !w.c.isIgnored(pos) {
		w.s.icalls = append(w.s.icalls, ifaceCall{pos: pos, iface: linkOf(fn), impls: impls})
	}
}

// ifaceFindings returns what a call through an interface reaches when
// every implementation (other than orchestrator code, checked on its own)
// reaches something: then whichever one runs, the call is
// non-deterministic, and each implementation's findings are reported. When
// one implementation is clean, the call may well go there, and nothing is
// reported.
func (c *checker) ifaceFindings(ic ifaceCall) []Finding {
	var out []Finding
	for _, m := range ic.impls {
		if m.Orchestrator {
			continue
		}
		if m.fn != nil && c.isDeclaredIO(m.fn) || m.fn == nil && m.DeclaredIO {
			out = append(out, Finding{Chain: []Link{ic.iface}, Op: m.Link.qualified(), Cat: catDeclaredIO})
			continue
		}
		fs := m.Findings
		if m.fn != nil {
			fs = nil
			if s := c.summaryOf(m.fn); s != nil {
				fs = s.Findings
			}
		}
		if len(fs) == 0 {
			return nil
		}
		for _, f := range fs {
			out = append(out, f.via(ic.iface, m.Link))
		}
	}
	return out
}

// implementations returns the implementations of method fn of the
// interface type recv that the package can see: its own types and those
// of the module's packages it imports, directly or not. Only interfaces
// declared in the module are followed (a standard io.Writer may be a
// bytes.Buffer).
func (c *checker) implementations(recv types.Type, fn *types.Func) []implRef {
	named, ok := types.Unalias(recv).(*types.Named)
	if !ok || named.TypeArgs().Len() > 0 || named.TypeParams().Len() > 0 {
		return nil
	}
	pkg := named.Obj().Pkg()
	if pkg == nil || pkg.Path() == bindingsPath || !c.inModule(pkg) {
		return nil
	}
	iface, ok := named.Underlying().(*types.Interface)
	if !ok {
		return nil
	}
	var out []implRef
	for _, tn := range c.localTypes() {
		t := tn.Type()
		if !types.Implements(t, iface) && !types.Implements(types.NewPointer(t), iface) {
			continue
		}
		obj, _, _ := types.LookupFieldOrMethod(types.NewPointer(t), true, fn.Pkg(), fn.Name())
		if m, ok := obj.(*types.Func); ok {
			out = append(out, implRef{fn: m.Origin(), ImplMethod: c.implMethod(tn, m)})
		}
	}
	want := map[string]bool{}
	for i := range iface.NumMethods() {
		want[methodKey(iface.Method(i))] = true
	}
	called := methodKey(fn)
	for _, p := range c.importedImpls() {
		for _, t := range p.Types {
			if m, ok := implementsKeys(t, want, called); ok {
				out = append(out, implRef{ImplMethod: m})
			}
		}
	}
	return out
}

// implementsKeys reports whether t has every method in want, and returns
// its method called.
func implementsKeys(t ImplType, want map[string]bool, called string) (ImplMethod, bool) {
	have := 0
	var m ImplMethod
	for _, tm := range t.Methods {
		if want[tm.Key] {
			have++
		}
		if tm.Key == called {
			m = tm
		}
	}
	return m, have == len(want) && m.Key != ""
}

// inModule reports whether pkg is this package or another package of the
// module that this one imports, directly or not.
func (c *checker) inModule(pkg *types.Package) bool {
	if pkg == c.pass.Pkg {
		return true
	}
	for _, p := range c.importedImpls() {
		if p.Path == pkg.Path() {
			return true
		}
	}
	return false
}

// importedImpls returns the types of the module's other packages that
// this one imports, directly or not, from its imports' Impls facts.
func (c *checker) importedImpls() []ImplPackage {
	if !c.implsLoaded {
		c.implsLoaded = true
		seen := map[string]bool{c.pass.Pkg.Path(): true}
		for _, pf := range c.pass.AllPackageFacts() {
			imp, ok := pf.Fact.(*Impls)
			if !ok || pf.Package == c.pass.Pkg || imp.Module != c.module {
				continue
			}
			for _, p := range imp.Packages {
				if !seen[p.Path] {
					seen[p.Path] = true
					c.moduleImpls = append(c.moduleImpls, p)
				}
			}
		}
		slices.SortFunc(c.moduleImpls, func(a, b ImplPackage) int { return strings.Compare(a.Path, b.Path) })
	}
	return c.moduleImpls
}

// localTypes returns the package's named, non-generic, non-interface
// types.
func (c *checker) localTypes() []*types.TypeName {
	var out []*types.TypeName
	scope := c.pass.Pkg.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() {
			continue
		}
		n, ok := tn.Type().(*types.Named)
		if !ok || n.TypeParams().Len() > 0 || types.IsInterface(n) {
			continue
		}
		out = append(out, tn)
	}
	return out
}

// implMethod describes method m of the package's type tn.
func (c *checker) implMethod(tn *types.TypeName, m *types.Func) ImplMethod {
	im := ImplMethod{
		Key:          methodKey(m),
		Link:         Link{PkgPath: tn.Pkg().Path(), PkgName: tn.Pkg().Name(), Name: tn.Name() + "." + m.Name()},
		Orchestrator: isOrchestratorFunc(m),
		DeclaredIO:   c.isDeclaredIO(m.Origin()),
	}
	if s := c.summaryOf(m.Origin()); s != nil {
		im.Findings = s.Findings
	}
	return im
}

// localImpls describes the package's types, and those it imported, for
// the Impls fact.
func (c *checker) localImpls() *Impls {
	own := ImplPackage{Path: c.pass.Pkg.Path()}
	for _, tn := range c.localTypes() {
		ms := types.NewMethodSet(types.NewPointer(tn.Type()))
		if ms.Len() == 0 {
			continue
		}
		t := ImplType{Name: tn.Name()}
		for i := range ms.Len() {
			if m, ok := ms.At(i).Obj().(*types.Func); ok {
				t.Methods = append(t.Methods, c.implMethod(tn, m))
			}
		}
		own.Types = append(own.Types, t)
	}
	return &Impls{Module: c.module, Packages: append([]ImplPackage{own}, c.importedImpls()...)}
}

// methodKey identifies a method by name and signature, so that
// implementations can be matched to interfaces across packages: unexported
// names are qualified by their package, types by their package path.
func methodKey(m *types.Func) string {
	sig, _ := m.Type().(*types.Signature)
	if sig == nil {
		return m.Name()
	}
	plain := types.NewSignatureType(nil, nil, nil, sig.Params(), sig.Results(), sig.Variadic())
	key := m.Name() + " " + types.TypeString(plain, func(p *types.Package) string { return p.Path() })
	if !m.Exported() && m.Pkg() != nil {
		key = m.Pkg().Path() + "." + key
	}
	return key
}
