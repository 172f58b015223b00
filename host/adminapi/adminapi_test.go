package adminapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testAPI(t *testing.T) (http.Handler, chan string) {
	t.Helper()
	invoked := make(chan string, 4)
	fns := []Function{
		{Name: "HttpStart", Config: json.RawMessage(`{"bindings":[{"type":"httpTrigger"}]}`), Trigger: "httpTrigger",
			InvokeURL: "http://localhost:7071/api/orchestrators/{functionName}"},
		{Name: "Cleanup", Config: json.RawMessage(`{"bindings":[{"type":"timerTrigger"}]}`), Trigger: "timerTrigger", Disabled: true,
			Invoke: func(_ context.Context, input string) error { invoked <- "Cleanup:" + input; return nil }},
		{Name: "Broken", Config: json.RawMessage(`{"bindings":[{"type":"blobTrigger"}]}`), Trigger: "blobTrigger",
			Errors: []string{"The binding type(s) 'blobTrigger' are not registered."}},
		{Name: "Unparsable", Errors: []string{"invalid JSON at line 1, column 2"}},
	}
	h := http.StripPrefix("/admin", New(Options{Functions: func() []Function { return fns }, HostID: "myhost", Version: "funchost", InstanceID: "i-1",
		Started: time.Now().Add(-time.Minute), Logger: slog.New(slog.DiscardHandler)}))
	return h, invoked
}

func call(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestList(t *testing.T) {
	h, _ := testAPI(t)
	code, body := call(t, h, "GET", "/admin/functions", "")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// The unparsable function is absent; the one with a binding error is listed.
	if len(got) != 3 || got[0]["name"] != "Broken" || got[1]["name"] != "Cleanup" || got[2]["name"] != "HttpStart" {
		t.Fatalf("list %s", body)
	}
	for _, key := range []string{"script_root_path_href", "script_href", "config_href", "test_data_href", "href",
		"invoke_url_template", "language", "config", "files", "test_data", "isDisabled", "isDirect", "isProxy"} {
		if _, ok := got[2][key]; !ok {
			t.Errorf("metadata lacks %q: %v", key, got[2])
		}
	}
	if got[1]["isDisabled"] != true || got[1]["invoke_url_template"] != nil || got[2]["invoke_url_template"] != "http://localhost:7071/api/orchestrators/{functionName}" {
		t.Fatalf("fields: %v / %v", got[1], got[2])
	}
	if got[2]["href"] != "http://example.com/admin/functions/HttpStart" {
		t.Fatalf("href %v", got[2]["href"])
	}
}

func TestStatus(t *testing.T) {
	h, _ := testAPI(t)
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/admin/functions/Broken/status", 200, `{"errors":["The binding type(s) 'blobTrigger' are not registered."]}`},
		{"/admin/functions/unparsable/status", 200, `{"errors":["invalid JSON at line 1, column 2"]}`},
		{"/admin/functions/HttpStart/status", 200, `{}`},
		{"/admin/functions/cleanup/status", 200, `{}`},
		{"/admin/functions/Nope/status", 404, ""},
		{"/admin/functions/Unparsable", 404, ""},
		{"/admin/functions/httpstart", 200, ""},
	} {
		code, body := call(t, h, "GET", tc.path, "")
		if code != tc.code || tc.body != "" && strings.TrimSpace(body) != tc.body {
			t.Errorf("GET %s = %d %s, want %d %s", tc.path, code, body, tc.code, tc.body)
		}
	}
}

func TestInvoke(t *testing.T) {
	h, invoked := testAPI(t)
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"Cleanup", `{"input": ""}`, 202, "Cleanup:"},
		{"cleanup", `{"input": "hello"}`, 202, "Cleanup:hello"},
		{"Cleanup", `{"Input": {"a": 1}}`, 202, `Cleanup:{"a": 1}`},
		{"Cleanup", ``, 202, "Cleanup:"},
		{"Cleanup", `not json`, 400, ""},
		{"HttpStart", `{"input": ""}`, 400, ""},
		{"Broken", `{"input": ""}`, 404, ""},
		{"Nope", `{"input": ""}`, 404, ""},
	} {
		code, body := call(t, h, "POST", "/admin/functions/"+tc.name, tc.body)
		if code != tc.code {
			t.Errorf("POST %s %q = %d %s, want %d", tc.name, tc.body, code, body, tc.code)
			continue
		}
		if tc.want == "" {
			continue
		}
		select {
		case got := <-invoked:
			if got != tc.want {
				t.Errorf("invoked with %q, want %q", got, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("POST %s did not invoke", tc.name)
		}
	}
}

func TestHostStatus(t *testing.T) {
	h, _ := testAPI(t)
	code, body := call(t, h, "GET", "/admin/host/status", "")
	var st HostStatus
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.ID != "myhost" || st.State != "Running" || st.ProcessUptime < 60000 || st.InstanceID != "i-1" {
		t.Fatalf("%d %s", code, body)
	}
	if code, _ := call(t, h, "GET", "/admin/unknown", ""); code != 404 {
		t.Fatalf("unknown admin route: %d", code)
	}
}
