package httpserver

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/internal/hosttest"
)

// echo answers with the function name and its route values as JSON.
func echo(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, _ := bindings.InvocationFrom(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]any{"fn": name, "values": inv.RouteValues, "id": inv.InvocationID})
	})
}

type result struct {
	Fn     string            `json:"fn"`
	Values map[string]string `json:"values"`
	Error  string            `json:"error"`
}

func do(t *testing.T, h http.Handler, method, target string, body io.Reader, header http.Header) (int, result, http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var res result
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, target, rec.Body.String(), err)
		}
	}
	return rec.Code, res, rec.Header()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRouting(t *testing.T) {
	t.Parallel()
	fns := []Function{
		{Name: "Default", AuthLevel: "anonymous"},
		{Name: "Start", Route: "orchestrators/{functionName}/{instanceId?}", Methods: []string{"POST"}, AuthLevel: "anonymous"},
		{Name: "ByID", Route: "items/{id:int}", Methods: []string{"GET"}, AuthLevel: "anonymous"},
		{Name: "ByName", Route: "items/{name:alpha}", Methods: []string{"GET"}, AuthLevel: "anonymous"},
		{Name: "ByGuid", Route: "things/{g:guid}", AuthLevel: "anonymous"},
		{Name: "Files", Route: "files/{*path}", AuthLevel: "anonymous"},
		{Name: "Deflt", Route: "page/{n=1}", AuthLevel: "anonymous"},
		{Name: "Literal", Route: "items/special", AuthLevel: "anonymous"},
		{Name: "Ranged", Route: "ranged/{n:int:range(1,10)}/{code:regex(^[a-z]{{2}}$)}", AuthLevel: "anonymous"},
		{Name: "Sized", Route: "sized/{s:minlength(2):maxlength(4)}", AuthLevel: "function"},
	}
	for i := range fns {
		fns[i].Handler = echo(fns[i].Name)
	}
	for _, prefix := range []string{"api", ""} {
		srv, err := New(Options{RoutePrefix: prefix, Functions: fns, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + prefix
		if prefix != "" {
			p += "/"
		}
		for _, tc := range []struct {
			method, path string
			status       int
			fn           string
			values       map[string]string
		}{
			{"GET", p + "Default", 200, "Default", map[string]string{}},
			{"DELETE", p + "Default", 200, "Default", map[string]string{}},
			{"POST", p + "orchestrators/Hello", 200, "Start", map[string]string{"functionName": "Hello"}},
			{"POST", p + "orchestrators/Hello/abc%20d", 200, "Start", map[string]string{"functionName": "Hello", "instanceId": "abc d"}},
			{"GET", p + "orchestrators/Hello", 405, "", nil},
			{"GET", p + "items/42", 200, "ByID", map[string]string{"id": "42"}},
			{"GET", p + "items/-7", 200, "ByID", map[string]string{"id": "-7"}},
			{"GET", p + "items/abc", 200, "ByName", map[string]string{"name": "abc"}},
			{"GET", p + "items/special", 200, "Literal", map[string]string{}},
			{"GET", p + "items/a1", 404, "", nil},
			{"GET", p + "things/0f8fad5b-d9cb-469f-a165-70867728950e", 200, "ByGuid", map[string]string{"g": "0f8fad5b-d9cb-469f-a165-70867728950e"}},
			{"GET", p + "things/not-a-guid", 404, "", nil},
			{"GET", p + "files/a/b/c.txt", 200, "Files", map[string]string{"path": "a/b/c.txt"}},
			{"GET", p + "files", 200, "Files", map[string]string{}},
			{"GET", p + "page", 200, "Deflt", map[string]string{"n": "1"}},
			{"GET", p + "page/3", 200, "Deflt", map[string]string{"n": "3"}},
			{"GET", p + "nothing/here", 404, "", nil},
			// Literals match case-insensitively; values keep their case.
			{"GET", strings.ToUpper(p) + "DEFAULT", 200, "Default", map[string]string{}},
			{"POST", p + "Orchestrators/HelloSeq/AbC", 200, "Start", map[string]string{"functionName": "HelloSeq", "instanceId": "AbC"}},
			{"GET", p + "ITEMS/42", 200, "ByID", map[string]string{"id": "42"}},
			{"GET", p + "Files/A/B", 200, "Files", map[string]string{"path": "A/B"}},
			{"GET", p + "Orchestrators/x", 405, "", nil},
			// Value constraints: a failing value means no match.
			{"GET", p + "ranged/5/ab", 200, "Ranged", map[string]string{"n": "5", "code": "ab"}},
			{"GET", p + "ranged/5/AB", 200, "Ranged", map[string]string{"n": "5", "code": "AB"}},
			{"GET", p + "ranged/11/ab", 404, "", nil},
			{"GET", p + "ranged/5/abc", 404, "", nil},
			{"GET", p + "sized/abc", 200, "Sized", map[string]string{"s": "abc"}},
			{"GET", p + "sized/a", 404, "", nil},
			{"GET", p + "sized/abcde", 404, "", nil},
		} {
			status, res, hdr := do(t, srv, tc.method, tc.path, nil, nil)
			if status != tc.status {
				t.Errorf("prefix %q: %s %s = %d, want %d", prefix, tc.method, tc.path, status, tc.status)
				continue
			}
			if status != 200 {
				if res.Error == "" || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
					t.Errorf("%s %s: %d without a JSON error body", tc.method, tc.path, status)
				}
				// Every 405 in the table is for the POST-only Start route.
				if status == 405 && hdr.Get("Allow") != "POST" {
					t.Errorf("%s %s: 405 with Allow %q, want POST", tc.method, tc.path, hdr.Get("Allow"))
				}
				continue
			}
			if res.Fn != tc.fn {
				t.Errorf("prefix %q: %s %s served by %q, want %q", prefix, tc.method, tc.path, res.Fn, tc.fn)
			}
			if len(res.Values) != len(tc.values) {
				t.Errorf("%s %s: values %v, want %v", tc.method, tc.path, res.Values, tc.values)
			}
			for k, v := range tc.values {
				if res.Values[k] != v {
					t.Errorf("%s %s: value %s = %q, want %q", tc.method, tc.path, k, res.Values[k], v)
				}
			}
		}
	}
}

func TestPrefixedRoutesNotServedWithoutPrefix(t *testing.T) {
	t.Parallel()
	srv, err := New(Options{RoutePrefix: "api", Functions: []Function{{Name: "F", AuthLevel: "anonymous", Handler: echo("F")}}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := do(t, srv, "GET", "/F", nil, nil); status != 404 {
		t.Errorf("GET /F = %d, want 404", status)
	}
	if got := srv.Routes(); len(got) != 1 || got[0].Template != "/api/F" {
		t.Errorf("Routes() = %+v", got)
	}
}

func TestNewRejectsBadTemplate(t *testing.T) {
	t.Parallel()
	_, err := New(Options{Functions: []Function{{Name: "F", Route: "x/{id:datetime}", Handler: echo("F")}}})
	if err == nil || !strings.Contains(err.Error(), "function F") {
		t.Errorf("error = %v", err)
	}
}

func TestAuthLevels(t *testing.T) {
	t.Parallel()
	fns := []Function{
		{Name: "Anon", AuthLevel: "anonymous", Handler: echo("Anon")},
		{Name: "Func", AuthLevel: "function", Handler: echo("Func")},
		{Name: "Other", AuthLevel: "", Handler: echo("Other")}, // default: function
		{Name: "Admin", AuthLevel: "admin", Handler: echo("Admin")},
	}
	keys := Keys{Master: "master", Host: "hostkey", Function: map[string]string{"Func": "funckey"}, System: map[string]string{DurableTaskSystemKeyName: "sys"}}
	srv, err := New(Options{RoutePrefix: "api", Functions: fns, Keys: keys, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(k string) http.Header { return http.Header{"X-Functions-Key": {k}} }
	for _, tc := range []struct {
		path   string
		header http.Header
		status int
	}{
		{"/api/Anon", nil, 200},
		{"/api/Func", nil, 401},
		{"/api/Func?code=wrong", nil, 401},
		{"/api/Func?code=funckey", nil, 200},
		{"/api/Func", hdr("funckey"), 200},
		{"/api/Func", hdr("hostkey"), 200},
		{"/api/Func", hdr("master"), 200},
		{"/api/Func", hdr("sys"), 401},              // a system key does not unlock functions
		{"/api/Func?code=funckey", hdr("bad"), 401}, // the header wins over the query
		{"/api/Other", hdr("funckey"), 401},         // another function's key
		{"/api/Other", hdr("hostkey"), 200},
		{"/api/Admin", hdr("hostkey"), 401},
		{"/api/Admin", hdr("funckey"), 401},
		{"/api/Admin?code=master", nil, 200},
	} {
		status, _, _ := do(t, srv, "GET", tc.path, nil, tc.header)
		if status != tc.status {
			t.Errorf("GET %s (key %q) = %d, want %d", tc.path, tc.header.Get("X-Functions-Key"), status, tc.status)
		}
	}
}

func TestOpenWithoutKeys(t *testing.T) {
	t.Parallel()
	if !(Keys{}).Open() {
		t.Fatal("empty Keys not open")
	}
	srv, err := New(Options{Functions: []Function{{Name: "Admin", AuthLevel: "admin", Handler: echo("Admin")}}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := do(t, srv, "GET", "/Admin", nil, nil); status != 200 {
		t.Errorf("open host refused an admin request: %d", status)
	}
}

func TestKeysFromSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		SettingMasterKey:            "m",
		SettingHostKey:              "h",
		"FUNCTIONS_KEY_HttpStart":   "a",
		"FUNCTIONS_KEY_OTHER":       "b",
		SettingDurableTaskSystemKey: "s",
	}
	k := KeysFromSettings(func(n string) (string, bool) { v, ok := env[n]; return v, ok }, []string{"HttpStart", "Other", "None"})
	if k.Master != "m" || k.Host != "h" || k.Function["HttpStart"] != "a" || k.Function["Other"] != "b" ||
		k.Function["None"] != "" || k.System[DurableTaskSystemKeyName] != "s" || k.Open() {
		t.Errorf("keys = %+v", k)
	}
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer = hosttest.SyncBuffer

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	fns := []Function{
		{Name: "Boom", AuthLevel: "anonymous", Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") })},
		{Name: "Fine", AuthLevel: "anonymous", Handler: echo("Fine")},
	}
	srv, err := New(Options{Functions: fns, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	for i := 0; i < 2; i++ {
		resp, err := http.Get(ts.URL + "/Boom")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 || !strings.Contains(string(body), `"error"`) || !strings.Contains(string(body), "Functions.Boom") {
			t.Errorf("panic answered %d %q", resp.StatusCode, body)
		}
	}
	resp, err := http.Get(ts.URL + "/Fine")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("host stopped serving after a panic: %d", resp.StatusCode)
	}
	out := logs.String()
	for _, want := range []string{"kaboom", "stack=", "httpserver_test.go", "(Failed, Id="} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

func TestInvocationLogs(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	srv, err := New(Options{Functions: []Function{{Name: "Hello", AuthLevel: "anonymous", Handler: echo("Hello")}},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	do(t, srv, "GET", "/Hello", nil, nil)
	uuidRe := `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON", line)
		}
		msgs = append(msgs, rec["msg"].(string))
	}
	sort.Strings(msgs)
	want := []*regexp.Regexp{
		regexp.MustCompile(`^Executed 'Functions\.Hello' \(Succeeded, Id=` + uuidRe + `, Duration=\d+ms\)$`),
		regexp.MustCompile(`^Executing 'Functions\.Hello' \(Reason='This function was programmatically called via the host APIs\.', Id=` + uuidRe + `\)$`),
	}
	if len(msgs) != 2 {
		t.Fatalf("log messages = %q", msgs)
	}
	for i, re := range want {
		if !re.MatchString(msgs[i]) {
			t.Errorf("log %q does not match %s", msgs[i], re)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	reader := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest) // replaced by the 413
			return
		}
		w.WriteHeader(200)
	})
	srv, err := New(Options{Functions: []Function{{Name: "Up", AuthLevel: "anonymous", Handler: reader}}, MaxRequestBodySize: 10, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	for _, tc := range []struct {
		name    string
		body    string
		chunked bool
		status  int
	}{
		{"under", "0123456789", false, 200},
		{"over, declared length", "0123456789A", false, 413},
		{"under, chunked", "0123456789", true, 200},
		{"over, chunked", strings.Repeat("x", 5000), true, 413},
	} {
		var body io.Reader = strings.NewReader(tc.body)
		if tc.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		req, _ := http.NewRequest("POST", ts.URL+"/Up", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if tc.status == 413 && !strings.Contains(string(out), `"error"`) {
			t.Errorf("%s: 413 body %q is not a JSON error", tc.name, out)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	srv, err := New(Options{Functions: []Function{{Name: "F", Methods: []string{"POST"}, AuthLevel: "anonymous", Handler: echo("F")}},
		CORS: []string{"https://good.example"}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	pre := http.Header{"Origin": {"https://good.example"}, "Access-Control-Request-Method": {"POST"}}
	status, _, hdr := do(t, srv, "OPTIONS", "/F", nil, pre)
	if status != 204 || hdr.Get("Access-Control-Allow-Origin") != "https://good.example" {
		t.Errorf("preflight = %d, allow-origin %q", status, hdr.Get("Access-Control-Allow-Origin"))
	}
	_, _, hdr = do(t, srv, "POST", "/F", nil, http.Header{"Origin": {"https://evil.example"}})
	if hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed origin got %q", hdr.Get("Access-Control-Allow-Origin"))
	}
	_, _, hdr = do(t, srv, "POST", "/F", nil, http.Header{"Origin": {"https://good.example"}})
	if hdr.Get("Access-Control-Allow-Origin") != "https://good.example" {
		t.Errorf("allowed origin got %q", hdr.Get("Access-Control-Allow-Origin"))
	}
}

func TestClientsReachHandler(t *testing.T) {
	t.Parallel()
	var got bindings.DurableClient
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = bindings.Client(r) })
	want := fakeClient{}
	srv, err := New(Options{
		Functions: []Function{{Name: "S", AuthLevel: "anonymous", Handler: h, ClientBindings: []string{"starter"}}},
		Client: func(fn, b string) bindings.DurableClient {
			if fn == "S" && b == "starter" {
				return want
			}
			return nil
		},
		Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	do(t, srv, "GET", "/S", nil, nil)
	if got != want {
		t.Errorf("bindings.Client(r) = %v", got)
	}
}

func TestMount(t *testing.T) {
	t.Parallel()
	mgmt := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("mgmt")
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"fn": r.URL.Path})
	})
	keys := Keys{System: map[string]string{DurableTaskSystemKeyName: "s"}}
	srv, err := New(Options{RoutePrefix: "api", Keys: keys, Logger: quietLogger(),
		Mounts: []Mount{{Prefix: "/runtime/webhooks/durabletask", Handler: RequireSystemKey(keys, DurableTaskSystemKeyName)(mgmt)}}})
	if err != nil {
		t.Fatal(err)
	}
	if status, res, _ := do(t, srv, "GET", "/runtime/webhooks/durabletask/instances/x?code=s", nil, nil); status != 200 || res.Fn != "/instances/x" {
		t.Errorf("mount = %d %+v", status, res)
	}
	if status, _, _ := do(t, srv, "GET", "/runtime/webhooks/durabletask/instances/x", nil, nil); status != 401 {
		t.Errorf("mount without key = %d", status)
	}
	if status, _, _ := do(t, srv, "GET", "/runtime/webhooks/durabletask/boom?code=s", nil, nil); status != 500 {
		t.Errorf("panicking mount = %d", status)
	}
}

// fakeClient is a DurableClient stand-in; only its identity matters.
type fakeClient struct{ bindings.DurableClient }

func TestRequireMasterKey(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	for _, tc := range []struct {
		name   string
		keys   Keys
		target string
		status int
	}{
		{"no keys: open", Keys{}, "/admin/functions", 204},
		{"master key", Keys{Master: "m"}, "/admin/functions?code=m", 204},
		{"no key given", Keys{Master: "m"}, "/admin/functions", 401},
		{"host key refused", Keys{Master: "m", Host: "h"}, "/admin/functions?code=h", 401},
		{"keys without master: closed", Keys{Host: "h"}, "/admin/functions?code=h", 401},
	} {
		rec := httptest.NewRecorder()
		RequireMasterKey(tc.keys)(ok).ServeHTTP(rec, httptest.NewRequest("GET", tc.target, nil))
		if rec.Code != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.status)
		}
	}
	k := Keys{Master: "m"}
	if !k.IsMaster(httptest.NewRequest("GET", "/x?code=m", nil)) || k.IsMaster(httptest.NewRequest("GET", "/x?code=n", nil)) {
		t.Error("IsMaster")
	}
}

func TestFunctionTimeoutCancelsAndLogs(t *testing.T) {
	t.Parallel()
	logs := &hosttest.SyncBuffer{}
	srv, err := New(Options{FunctionTimeout: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Functions: []Function{{Name: "Slow", AuthLevel: "anonymous", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			w.WriteHeader(http.StatusServiceUnavailable)
		})}}})
	if err != nil {
		t.Fatal(err)
	}
	status, _, _ := do(t, srv, "GET", "/Slow", nil, nil)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d", status)
	}
	if !strings.Contains(logs.String(), "Timeout value of 00:00:00 exceeded by function 'Functions.Slow'") {
		t.Fatalf("logs %s", logs.String())
	}
}
