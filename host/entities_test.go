package host

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/samples/sampleapp"
)

// TestEntitiesOverHTTP drives the sample's entities through their HTTP
// functions on both providers: the Counter (signals with and without
// input, an unknown key's 404, delete) and a bank transfer between two
// Accounts in a critical section.
func TestEntitiesOverHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  func(t *testing.T) map[string]string
	}{
		{"memory", func(*testing.T) map[string]string { return memoryEnv }},
		{"azurite", func(t *testing.T) map[string]string { return azuriteEnv(t, "HostEnt") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, sampleApp(), repoRoot(t), tt.env(t))
			for _, step := range []struct{ op, body string }{{"add", "5"}, {"add", "7"}, {"reset", ""}, {"add", "3"}, {"Add", "4"}} {
				if code, body := httpDo(t, "POST", h.base+"/api/counters/c1/"+step.op, step.body); code != http.StatusAccepted {
					t.Fatalf("signal %s: %d %s", step.op, code, body)
				}
			}
			waitCounter(t, h.base, "c1", `{"value":7}`)
			if code, _ := httpDo(t, "GET", h.base+"/api/counters/nobody", ""); code != http.StatusNotFound {
				t.Fatalf("unknown counter: %d, want 404", code)
			}
			if code, body := httpDo(t, "POST", h.base+"/api/counters/c1/delete", ""); code != http.StatusAccepted {
				t.Fatalf("delete: %d %s", code, body)
			}
			waitCounter(t, h.base, "c1", "")

			if code, body := httpDo(t, "POST", h.base+"/api/accounts/a/deposit", "100"); code != http.StatusAccepted {
				t.Fatalf("deposit: %d %s", code, body)
			}
			waitEntity(t, h.base+"/api/accounts/a", `{"balance":100}`)
			for _, want := range []string{"true", "true", "false"} {
				if got := runOrchestration(t, h.base, "Transfer", `{"from":"a","to":"b","amount":40}`); got != want {
					t.Fatalf("transfer output %s, want %s", got, want)
				}
			}
			waitEntity(t, h.base+"/api/accounts/a", `{"balance":20}`)
			waitEntity(t, h.base+"/api/accounts/b", `{"balance":80}`)
			// Operations run through the host's invocation runner.
			if logs := h.logs.String(); !strings.Contains(logs, "Executing 'Functions.Counter' (Reason='EntityOperation:add'") ||
				!strings.Contains(logs, "Executed 'Functions.Account' (Succeeded") {
				t.Errorf("no invocation logs for the entity operations:\n%.3000s", logs)
			}
		})
	}
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitCounter polls the counter until its state is want ("" = gone).
func waitCounter(t *testing.T, base, key, want string) {
	t.Helper()
	waitEntity(t, base+"/api/counters/"+key, want)
}

// runOrchestration starts an orchestrator through the sample's starter and
// returns its output once it completed.
func runOrchestration(t *testing.T, base, name, input string) string {
	t.Helper()
	code, body := httpDo(t, "POST", base+"/api/orchestrators/"+name, input)
	var started struct{ StatusQueryGetURI string }
	if err := json.Unmarshal([]byte(body), &started); code != http.StatusAccepted || err != nil {
		t.Fatalf("start %s: %d %s", name, code, body)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, body := httpDo(t, "GET", started.StatusQueryGetURI, "")
		var st struct {
			RuntimeStatus string
			Output        json.RawMessage
		}
		_ = json.Unmarshal([]byte(body), &st)
		switch st.RuntimeStatus {
		case "Completed":
			return string(st.Output)
		case "Failed", "Terminated":
			t.Fatalf("%s ended: %s", name, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not complete: %s", name, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEntity polls an entity's GET function until its state is want ("" =
// gone).
func waitEntity(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		code, body := httpDo(t, "GET", url, "")
		got := ""
		if code == http.StatusOK {
			var v json.RawMessage
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("counter body %q: %v", body, err)
			}
			got = string(v)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d %q, want %q", url, code, body, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEntityFunctionNames checks the entity registry the host builds:
// names resolved and lower-cased, and every clash reported at once.
func TestEntityFunctionNames(t *testing.T) {
	ent := bindings.EntityOf[sampleapp.Counter]()
	def := func(name, entityName string, disabled bool) *functions.Function {
		return &functions.Function{Entity: ent, Def: &functions.Definition{Name: name, Path: "functions/" + name + "/function.json",
			Kind: functions.KindEntity, Disabled: disabled, Trigger: &functions.Binding{Type: functions.TypeEntityTrigger, EntityName: entityName}}}
	}
	tests := []struct {
		name     string
		fns      []*functions.Function
		want     []string
		problems []string
	}{
		{"function names and overrides", []*functions.Function{def("Counter", "", false), def("Acct", "%AccountEntity%", false), def("Off", "", true)},
			[]string{"account", "counter"}, nil},
		{"clashes and bad names, all at once", []*functions.Function{def("Counter", "", false), def("Counter2", "COUNTER", false),
			def("Bad", "a@b", false), def("Unset", "%Nope%", false)},
			[]string{"counter"}, []string{`entity name "COUNTER" is already used by function Counter`, `entity name "a@b"`, "functions/Unset/function.json: entityName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := entityFunctions(tt.fns, config.NewMapEnv(map[string]string{"AccountEntity": "Account"}))
			var names []string
			for n := range got {
				names = append(names, n)
			}
			sort.Strings(names)
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Errorf("entities = %v, want %v", names, tt.want)
			}
			if (err != nil) != (len(tt.problems) > 0) {
				t.Fatalf("error = %v, want problems %v", err, tt.problems)
			}
			for _, p := range tt.problems {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q lacks %q", err, p)
				}
			}
		})
	}
}
