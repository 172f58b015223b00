package httpserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestKeyMatrix is the key policy, cell by cell: for each key
// configuration, each endpoint kind answers each presented key as
// written. Presented keys are always the same strings (f = Fn's function
// key, h = host key, m = master key, s = durabletask system key, x = a
// wrong key, - = none), configured or not. As soon as any key is set, the
// management API (and the dashboard under it) and the admin API are
// closed to everything but their own keys; only with no key at all is the
// host open.
func TestKeyMatrix(t *testing.T) {
	t.Parallel()
	presented := []string{"-", "x", "f", "h", "m", "s"}
	sys := func(v string) map[string]string { return map[string]string{DurableTaskSystemKeyName: v} }
	fn := map[string]string{"Fn": "f"}
	configs := []struct {
		name string
		keys Keys
		// want is, per endpoint, the answer to each presented key in order:
		// 2 = served (200), 4 = 401.
		want map[string]string
	}{
		{"no keys", Keys{}, map[string]string{
			"function": "2 2 2 2 2 2", "admin-level": "2 2 2 2 2 2", "anonymous": "2 2 2 2 2 2",
			"management": "2 2 2 2 2 2", "dashboard": "2 2 2 2 2 2", "admin API": "2 2 2 2 2 2"}},
		{"function key only", Keys{Function: fn}, map[string]string{
			"function": "4 4 2 4 4 4", "admin-level": "4 4 4 4 4 4", "anonymous": "2 2 2 2 2 2",
			"management": "4 4 4 4 4 4", "dashboard": "4 4 4 4 4 4", "admin API": "4 4 4 4 4 4"}},
		{"host key only", Keys{Host: "h"}, map[string]string{
			"function": "4 4 4 2 4 4", "admin-level": "4 4 4 4 4 4", "anonymous": "2 2 2 2 2 2",
			"management": "4 4 4 4 4 4", "dashboard": "4 4 4 4 4 4", "admin API": "4 4 4 4 4 4"}},
		{"master key only", Keys{Master: "m"}, map[string]string{
			"function": "4 4 4 4 2 4", "admin-level": "4 4 4 4 2 4", "anonymous": "2 2 2 2 2 2",
			"management": "4 4 4 4 2 4", "dashboard": "4 4 4 4 2 4", "admin API": "4 4 4 4 2 4"}},
		{"system key only", Keys{System: sys("s")}, map[string]string{
			"function": "4 4 4 4 4 4", "admin-level": "4 4 4 4 4 4", "anonymous": "2 2 2 2 2 2",
			"management": "4 4 4 4 4 2", "dashboard": "4 4 4 4 4 2", "admin API": "4 4 4 4 4 4"}},
		{"function and host keys", Keys{Host: "h", Function: fn}, map[string]string{
			"function": "4 4 2 2 4 4", "admin-level": "4 4 4 4 4 4", "anonymous": "2 2 2 2 2 2",
			"management": "4 4 4 4 4 4", "dashboard": "4 4 4 4 4 4", "admin API": "4 4 4 4 4 4"}},
		{"host and system keys", Keys{Host: "h", System: sys("s")}, map[string]string{
			"function": "4 4 4 2 4 4", "admin-level": "4 4 4 4 4 4", "anonymous": "2 2 2 2 2 2",
			"management": "4 4 4 4 4 2", "dashboard": "4 4 4 4 4 2", "admin API": "4 4 4 4 4 4"}},
		{"every key", Keys{Master: "m", Host: "h", Function: fn, System: sys("s")}, map[string]string{
			"function": "4 4 2 2 2 4", "admin-level": "4 4 4 4 2 4", "anonymous": "2 2 2 2 2 2",
			"management": "4 4 4 4 2 2", "dashboard": "4 4 4 4 2 2", "admin API": "4 4 4 4 2 4"}},
	}
	paths := map[string]string{
		"function": "/api/Fn", "admin-level": "/api/Adm", "anonymous": "/api/Anon",
		"management": "/runtime/webhooks/durabletask/instances", "dashboard": "/runtime/webhooks/durabletask/dashboard/",
		"admin API": "/admin/host/status",
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv, err := New(Options{RoutePrefix: "api", Keys: c.keys, Logger: quietLogger(),
				Functions: []Function{
					{Name: "Fn", AuthLevel: "function", Handler: ok},
					{Name: "Adm", AuthLevel: "admin", Handler: ok},
					{Name: "Anon", AuthLevel: "anonymous", Handler: ok},
				},
				Mounts: []Mount{
					{Prefix: "/runtime/webhooks/durabletask", Handler: RequireSystemKey(c.keys, DurableTaskSystemKeyName)(ok)},
					{Prefix: "/admin", Handler: RequireMasterKey(c.keys)(ok)},
				}})
			if err != nil {
				t.Fatal(err)
			}
			for endpoint, row := range c.want {
				want := strings.Fields(row)
				for i, key := range presented {
					for _, via := range []string{"header", "query"} {
						req := httptest.NewRequest("GET", paths[endpoint], nil)
						if key != "-" && via == "header" {
							req.Header.Set("x-functions-key", key)
						} else if key != "-" {
							req.URL.RawQuery = "code=" + key
						}
						rec := httptest.NewRecorder()
						srv.ServeHTTP(rec, req)
						if status := map[string]int{"2": 200, "4": 401}[want[i]]; rec.Code != status {
							t.Errorf("%s with key %s (%s): %d, want %d", endpoint, key, via, rec.Code, status)
						}
					}
				}
			}
		})
	}
}
