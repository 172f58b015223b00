package functions

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/internal/hosttest"
)

const (
	httpFn   = `{"bindings":[{"authLevel":"function","name":"req","type":"httpTrigger","direction":"in","route":"orchestrators/{functionName}","methods":["post"]},{"name":"$return","type":"http","direction":"out"},{"name":"starter","type":"durableClient","direction":"in"}]}`
	orchFn   = `{"bindings":[{"name":"context","type":"orchestrationTrigger","direction":"in"}]}`
	actFn    = `{"bindings":[{"name":"input","type":"activityTrigger","direction":"in"}]}`
	plainFn  = `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous"}]}`
	timerFn  = `{"bindings":[{"name":"t","type":"timerTrigger","direction":"in","schedule":"0 */5 * * * *","runOnStartup":"true"},{"name":"starter","type":"durableClient","direction":"in"}]}`
	queueFn  = `{"bindings":[{"name":"m","type":"queueTrigger","direction":"in","queueName":"%Q%"},{"name":"out","type":"queue","direction":"out","queueName":"next"},{"name":"doc","type":"blob","direction":"in","path":"c/{Id}"}]}`
	manualFn = `{"bindings":[{"name":"input","type":"manualTrigger","direction":"in"}]}`
)

// writeFunctions creates a script root with functions/<name>/function.json.
func writeFunctions(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	hosttest.WriteFunctions(t, root, files)
	return root
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	root := writeFunctions(t, map[string]string{"Start": httpFn, "Orch": orchFn, "Act": actFn, "Plain": plainFn})
	if err := os.MkdirAll(filepath.Join(root, "functions", "NotAFunction"), 0o755); err != nil {
		t.Fatal(err)
	}
	defs, broken, err := Discover(root)
	if err != nil || len(broken) > 0 {
		t.Fatal(err, broken)
	}
	got := map[string]*Definition{}
	for _, d := range defs {
		got[d.Name] = d
	}
	if len(defs) != 4 || defs[0].Name != "Act" {
		t.Fatalf("definitions = %d, first %q", len(defs), defs[0].Name)
	}
	start := got["Start"]
	if start.Kind != KindHTTP || start.Route() != "orchestrators/{functionName}" || start.AuthLevel() != AuthFunction ||
		strings.Join(start.Methods(), ",") != "POST" || len(start.Clients()) != 1 || start.Clients()[0].Name != "starter" {
		t.Errorf("Start = %+v", start)
	}
	plain := got["Plain"]
	if plain.Route() != "Plain" || plain.Methods() != nil || plain.AuthLevel() != AuthAnonymous {
		t.Errorf("Plain route=%q methods=%v auth=%q", plain.Route(), plain.Methods(), plain.AuthLevel())
	}
	if got["Orch"].Kind != KindOrchestrator || got["Act"].Kind != KindActivity || got["Orch"].TaskName() != "Orch" {
		t.Errorf("kinds: %v %v", got["Orch"].Kind, got["Act"].Kind)
	}
}

func TestDiscoverRealApp(t *testing.T) {
	t.Parallel()
	// The repository's sample app must always validate.
	defs, broken, err := Discover(filepath.Join("..", ".."))
	if err == nil {
		err = AsError("function.json", broken)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) < 3 {
		t.Errorf("found %d sample functions", len(defs))
	}
}

func TestDiscoverErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // each must appear in the error
	}{
		{"invalid JSON", map[string]string{"F": "{\n \"bindings\": [,]\n}"}, []string{filepath.Join("F", "function.json"), "line 2"}},
		{"no bindings", map[string]string{"F": `{"bindings":[]}`}, []string{`field "bindings"`, "At least one binding must be declared."}},
		{"no trigger", map[string]string{"F": `{"bindings":[{"name":"$return","type":"http","direction":"out"}]}`}, []string{"No trigger binding specified. A function must have a trigger input binding."}},
		{"two triggers", map[string]string{"F": `{"bindings":[{"name":"a","type":"activityTrigger","direction":"in"},{"name":"b","type":"orchestrationTrigger","direction":"in"}]}`}, []string{"Multiple trigger bindings defined. A function can only have a single trigger binding."}},
		{"unknown type", map[string]string{"F": `{"bindings":[{"name":"a","type":"blobTrigger","direction":"in"},{"name":"b","type":"twilioSms","direction":"out"}]}`}, []string{`field "bindings"`, "The binding type(s) 'blobTrigger, twilioSms' are not registered. Please ensure the type is correct and the binding extension is installed."}},
		{"entity trigger written out", map[string]string{"F": `{"bindings":[{"name":"context","type":"entityTrigger","direction":"out"}]}`}, []string{`"bindings[0].direction"`, `"in"`}},
		{"missing type", map[string]string{"F": `{"bindings":[{"name":"a","direction":"in"}]}`}, []string{`"bindings[0].type"`, "Binding 'a' is invalid. Bindings must specify a Type."}},
		{"bad direction", map[string]string{"F": `{"bindings":[{"name":"a","type":"activityTrigger","direction":"sideways"}]}`}, []string{`"bindings[0].direction"`, "'sideways' is not a valid binding direction."}},
		{"bad function name", map[string]string{"1st": actFn}, []string{"'1st' is not a valid function name."}},
		{"bad binding name", map[string]string{"F": `{"bindings":[{"name":"my_input","type":"activityTrigger","direction":"in"}]}`}, []string{"The binding name my_input is invalid."}},
		{"duplicate binding names", map[string]string{"F": `{"bindings":[{"name":"a","type":"activityTrigger","direction":"in"},{"name":"A","type":"blob","direction":"out","path":"c/x"}]}`}, []string{"Multiple bindings with name 'A' discovered. Binding names must be unique."}},
		{"timer without schedule", map[string]string{"F": `{"bindings":[{"name":"t","type":"timerTrigger","direction":"in"}]}`}, []string{`"bindings[0].schedule"`, "required"}},
		{"timer with bad flag", map[string]string{"F": `{"bindings":[{"name":"t","type":"timerTrigger","direction":"in","schedule":"0 * * * * *","runOnStartup":"maybe"}]}`}, []string{`"bindings[0].runOnStartup"`}},
		{"queue trigger without queue", map[string]string{"F": `{"bindings":[{"name":"m","type":"queueTrigger","direction":"in"}]}`}, []string{`"bindings[0].queueName"`, "required"}},
		{"blob without path", map[string]string{"F": `{"bindings":[{"name":"m","type":"activityTrigger","direction":"in"},{"name":"b","type":"blob","direction":"in"}]}`}, []string{`"bindings[1].path"`, "required"}},
		{"missing name", map[string]string{"F": `{"bindings":[{"type":"activityTrigger","direction":"in"}]}`}, []string{`"bindings[0].name"`, "required"}},
		{"missing direction", map[string]string{"F": `{"bindings":[{"name":"a","type":"activityTrigger"}]}`}, []string{`"bindings[0].direction"`, "required"}},
		{"wrong direction", map[string]string{"F": `{"bindings":[{"name":"a","type":"activityTrigger","direction":"out"}]}`}, []string{`"bindings[0].direction"`, `"in"`}},
		{"bad authLevel", map[string]string{"F": `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","authLevel":"system"}]}`}, []string{`"bindings[0].authLevel"`, "system"}},
		{"bad method", map[string]string{"F": `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","methods":["fetch"]}]}`}, []string{`"bindings[0].methods[0]"`, "fetch"}},
		{"admin route", map[string]string{"F": `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","route":"admin/x"}]}`}, []string{`"bindings[0].route"`, "reserved"}},
		{"runtime route", map[string]string{"F": `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","route":"/Runtime/webhooks"}]}`}, []string{`"bindings[0].route"`, "reserved"}},
		{"bad template", map[string]string{"F": `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","route":"x/{id:datetime}"}]}`}, []string{`"bindings[0].route"`, "unsupported constraint"}},
		{"route conflict", map[string]string{
			"A": `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","route":"same","methods":["get","post"]}]}`,
			"B": `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","route":"SAME","methods":["post"]}]}`,
		}, []string{"conflicts with function A", "POST"}},
		{"route conflict all methods", map[string]string{
			"A": `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","route":"x"}]}`,
			"B": `{"bindings":[{"name":"r","type":"httpTrigger","direction":"in","route":"x"}]}`,
		}, []string{"conflicts with function A", "all methods"}},
		{"duplicate names", map[string]string{"Same": actFn, "same": actFn}, []string{"only in case"}},
		{"all problems at once", map[string]string{
			"A": `{"bindings":[{"name":"a","type":"blobTrigger","direction":"in"}]}`,
			"B": `{"bindings":[{"type":"activityTrigger","direction":"in"}]}`,
		}, []string{filepath.Join("A", "function.json"), filepath.Join("B", "function.json")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, broken, err := Discover(writeFunctions(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			err = AsError("function.json", broken)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Discover error = %v, want *Error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDiscoverNoFolder(t *testing.T) {
	t.Parallel()
	_, _, err := Discover(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no functions folder") {
		t.Errorf("error = %v", err)
	}
}

func TestBind(t *testing.T) {
	t.Parallel()
	defs, _, err := Discover(writeFunctions(t, map[string]string{"Start": httpFn, "Orch": orchFn, "Act": actFn, "Plain": plainFn,
		"Tick": timerFn, "OnMsg": queueFn, "Man": manualFn}))
	if err != nil {
		t.Fatal(err)
	}
	fns, broken, orphans := Bind(defs, map[string]any{
		"Start": http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		"Plain": func(http.ResponseWriter, *http.Request) {},
		"Orch":  func(bindings.OrchestrationContext) (any, error) { return nil, nil },
		"Act":   bindings.Activity(func(bindings.ActivityContext) (any, error) { return nil, nil }),
		"Tick":  func(context.Context, bindings.TimerInfo) error { return nil },
		"OnMsg": bindings.QueueTrigger(func(context.Context, bindings.QueueMessage) error { return nil }),
		"Man":   func(context.Context, string) error { return nil },
	})
	if len(broken) > 0 || len(orphans) > 0 || len(fns) != 7 {
		t.Fatal(broken, orphans)
	}
	for _, f := range fns {
		ok := false
		switch f.Def.Kind {
		case KindHTTP:
			ok = f.HTTP != nil
		case KindOrchestrator:
			ok = f.Orchestrator != nil
		case KindActivity:
			ok = f.Activity != nil
		case KindTimer:
			ok = f.Timer != nil
		case KindQueue:
			ok = f.Queue != nil
		case KindManual:
			ok = f.Manual != nil
		}
		if !ok {
			t.Errorf("%s not bound", f.Def.Name)
		}
	}
}

func TestBindErrors(t *testing.T) {
	t.Parallel()
	defs, _, err := Discover(writeFunctions(t, map[string]string{"Start": httpFn, "Orch": orchFn, "Act": actFn, "Missing": actFn, "Tick": timerFn, "Good": actFn,
		"Ent":     `{"bindings":[{"name":"context","type":"entityTrigger","direction":"in"}]}`,
		"GoodEnt": `{"bindings":[{"name":"context","type":"entityTrigger","direction":"in","entityName":"counter"}]}`}))
	if err != nil {
		t.Fatal(err)
	}
	fns, broken, orphans := Bind(defs, map[string]any{
		"Good":    func(bindings.ActivityContext) (any, error) { return nil, nil },
		"Tick":    func(context.Context) error { return nil },
		"Start":   bindings.Orchestrator(func(bindings.OrchestrationContext) (any, error) { return nil, nil }),
		"Orch":    func(http.ResponseWriter, *http.Request) {},
		"Act":     func(string) (string, error) { return "", nil },
		"Extra":   http.NotFoundHandler(),
		"Ent":     func(bindings.EntityContext) {},
		"GoodEnt": bindings.EntityOf[struct{ N int }](),
	})
	if len(fns) != 2 || len(broken) != 6 || len(orphans) != 1 {
		t.Fatalf("bound %d, broken %d, orphans %d", len(fns), len(broken), len(orphans))
	}
	err = AsError("handler", broken, orphans...)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("Bind error = %v, want *Error", err)
	}
	if len(fe.Problems) != 7 {
		t.Errorf("got %d problems, want 7:\n%v", len(fe.Problems), err)
	}
	for _, f := range fns {
		if f.Def.Name == "GoodEnt" && (f.Entity == nil || f.Def.TaskName() != "counter" || f.Def.Kind != KindEntity) {
			t.Errorf("GoodEnt bound as %+v (task name %q)", f, f.Def.TaskName())
		}
	}
	for _, w := range []string{
		"function Missing has no Go handler",
		`handler "Extra" is registered but there is no functions/Extra/function.json`,
		"function Start has an httpTrigger binding, so its handler must be an http.Handler or func(http.ResponseWriter, *http.Request); got bindings.Orchestrator",
		"function Orch has an orchestrationTrigger binding",
		"function Act has an activityTrigger binding, so its handler must be a bindings.Activity or func(bindings.ActivityContext) (any, error); got func(string) (string, error)",
		"function Tick has an timerTrigger binding, so its handler must be a bindings.Timer or func(context.Context, bindings.TimerInfo) error",
		"function Ent has an entityTrigger binding, so its handler must be a bindings.Entity or func(bindings.EntityContext) error",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}
