package bindings

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// EntityOf returns an Entity whose state is a value of type S and whose
// operations are the methods of *S, matched to the operation name
// case-insensitively (like Durable Functions' class-based entities). The
// state starts as S's zero value; after a successful operation it is saved.
//
// A method may take an EntityContext first and then at most one input
// (decoded from the operation's JSON input), and may return a result, an
// error, or both:
//
//	func (c *Counter) Add(n int)
//	func (c *Counter) Get() int
//	func (a *Account) Withdraw(ctx bindings.EntityContext, amount int) (int, error)
//
// An operation named "delete" without a method of that name deletes the
// state. Any other operation without a method fails.
func EntityOf[S any]() Entity {
	methods := entityMethods(reflect.TypeFor[*S]())
	return func(ctx EntityContext) error {
		m, ok := methods[strings.ToLower(ctx.Operation())]
		if !ok {
			if strings.EqualFold(ctx.Operation(), "delete") {
				ctx.DeleteState()
				return nil
			}
			return fmt.Errorf("entity %s: %T has no method for operation %q", ctx.ID(), *new(S), ctx.Operation())
		}
		if m.err != nil {
			return fmt.Errorf("entity %s: operation %q: %w", ctx.ID(), ctx.Operation(), m.err)
		}
		state := new(S)
		if err := ctx.State(state); err != nil {
			return err
		}
		tc := &trackingContext{EntityContext: ctx}
		result, err := m.call(reflect.ValueOf(state), tc)
		if err != nil {
			return err
		}
		if result.IsValid() {
			tc.Return(result.Interface())
		}
		if tc.deleted {
			return nil
		}
		return ctx.SetState(state)
	}
}

// trackingContext notes whether an operation deleted the state.
type trackingContext struct {
	EntityContext
	deleted bool
}

func (c *trackingContext) DeleteState() {
	c.deleted = true
	c.EntityContext.DeleteState()
}

func (c *trackingContext) SetState(v any) error {
	c.deleted = false
	return c.EntityContext.SetState(v)
}

var (
	entityContextType = reflect.TypeFor[EntityContext]()
	errorType         = reflect.TypeFor[error]()
)

// entityMethod is one operation of EntityOf: how to call the method.
type entityMethod struct {
	fn       reflect.Value
	withCtx  bool
	input    reflect.Type // nil: no input
	result   bool
	errIndex int // index of the error result, -1 if none
	err      error
}

func entityMethods(t reflect.Type) map[string]*entityMethod {
	out := map[string]*entityMethod{}
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		out[strings.ToLower(m.Name)] = newEntityMethod(m)
	}
	return out
}

func newEntityMethod(m reflect.Method) *entityMethod {
	em := &entityMethod{fn: m.Func, errIndex: -1}
	ft := m.Type
	in := 1 // receiver
	if in < ft.NumIn() && ft.In(in) == entityContextType {
		em.withCtx = true
		in++
	}
	if in < ft.NumIn() {
		em.input = ft.In(in)
		in++
	}
	if in < ft.NumIn() || ft.IsVariadic() {
		em.err = errors.New("the method takes more than an EntityContext and one input")
	}
	switch ft.NumOut() {
	case 0:
	case 1:
		if ft.Out(0) == errorType {
			em.errIndex = 0
		} else {
			em.result = true
		}
	case 2:
		if ft.Out(1) != errorType {
			em.err = errors.New("a method with two results must return (result, error)")
		}
		em.result, em.errIndex = true, 1
	default:
		em.err = errors.New("the method returns more than a result and an error")
	}
	return em
}

// call runs the method on state and returns its result (invalid when it
// has none) and error.
func (m *entityMethod) call(state reflect.Value, ctx EntityContext) (reflect.Value, error) {
	args := []reflect.Value{state}
	if m.withCtx {
		args = append(args, reflect.ValueOf(ctx))
	}
	if m.input != nil {
		in := reflect.New(m.input)
		if ctx.HasInput() {
			if err := ctx.Input(in.Interface()); err != nil {
				return reflect.Value{}, fmt.Errorf("entity %s: operation %q: decoding input: %w", ctx.ID(), ctx.Operation(), err)
			}
		}
		args = append(args, in.Elem())
	}
	out := m.fn.Call(args)
	if m.errIndex >= 0 {
		if e := out[m.errIndex]; !e.IsNil() {
			return reflect.Value{}, e.Interface().(error)
		}
	}
	if m.result {
		return out[0], nil
	}
	return reflect.Value{}, nil
}
