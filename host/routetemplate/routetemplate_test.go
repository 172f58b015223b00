package routetemplate

import (
	"reflect"
	"strings"
	"testing"
)

func TestChiPatterns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		route, prefix string
		want          []string
	}{
		{"HttpStart", "api", []string{"/api/HttpStart"}},
		{"/orchestrators/{functionName}/", "api", []string{"/api/orchestrators/{functionName}"}},
		{"orchestrators/{functionName}/{instanceId?}", "api", []string{"/api/orchestrators/{functionName}", "/api/orchestrators/{functionName}/{instanceId}"}},
		{"items/{id:int}", "", []string{"/items/{id:-?[0-9]+}"}},
		{"items/{id:int?}", "", []string{"/items", "/items/{id:-?[0-9]+}"}},
		{"{name?}", "", []string{"/", "/{name}"}},
		{"files/{*path}", "api", []string{"/api/files", "/api/files/*"}},
		{"files/{**path}", "v1/x", []string{"/v1/x/files", "/v1/x/files/*"}},
		{"a/{b=7}", "api", []string{"/api/a", "/api/a/{b}"}},
		{"a/{b:alpha}", "api", []string{"/api/a/{b:[A-Za-z]+}"}},
	} {
		tmpl, err := Parse(tc.route)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.route, err)
			continue
		}
		if got := tmpl.ChiPatterns(tc.prefix); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ChiPatterns(%q, %q) = %q, want %q", tc.route, tc.prefix, got, tc.want)
		}
	}
}

func TestParseParams(t *testing.T) {
	t.Parallel()
	tmpl, err := Parse("a/{id:guid}/{x=def}/{*rest}")
	if err != nil {
		t.Fatal(err)
	}
	ps := tmpl.Params()
	if len(ps) != 3 || ps[0].Constraint != "guid" || !ps[1].HasDefault || ps[1].Default != "def" || !ps[2].CatchAll || ps[2].Name != "rest" {
		t.Errorf("params = %+v %+v %+v", ps[0], ps[1], ps[2])
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ route, want string }{
		{"a/{id:min(1)}", "unsupported constraint"},
		{"a/{id:regex(^x$)}", "unsupported constraint"},
		{"a/{id:int:alpha}", "only one type constraint"},
		{"a/{*rest}/b", "must be the last segment"},
		{"a/{x?}/b", "optional parameters must come last"},
		{"a/{x?}/{y}", "optional parameters must come last"},
		{"a/{x}.{y}", "mixes text and parameters"},
		{"a/pre{x}", "mixes text and parameters"},
		{"a//b", "empty segment"},
		{"a/{x}/{X}", "appears twice"},
		{"a/{}", "invalid parameter name"},
		{"a/b*", "may not contain"},
	} {
		_, err := Parse(tc.route)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want it to mention %q", tc.route, err, tc.want)
		}
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		route, prefix, path string
		want                map[string]string
	}{
		{"orchestrators/{functionName}/{instanceId?}", "api", "/api/orchestrators/Hello", map[string]string{"functionName": "Hello"}},
		{"orchestrators/{functionName}/{instanceId?}", "api", "/api/orchestrators/Hello/a%20B", map[string]string{"functionName": "Hello", "instanceId": "a B"}},
		{"files/{*rest}", "v1/x", "/v1/x/files/a/b%2Fc", map[string]string{"rest": "a/b/c"}},
		{"files/{*rest}", "", "/files", map[string]string{}},
		{"page/{n=1}", "", "/page", map[string]string{"n": "1"}},
		{"{a}/{b}", "", "/x/y", map[string]string{"a": "x", "b": "y"}},
	} {
		tmpl, err := Parse(tc.route)
		if err != nil {
			t.Fatal(err)
		}
		if got := tmpl.Values(tc.prefix, tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Values(%q, %q) for %q = %v, want %v", tc.prefix, tc.path, tc.route, got, tc.want)
		}
	}
}

func TestFoldedChiPatterns(t *testing.T) {
	t.Parallel()
	tmpl, err := Parse("Orchestrators/{functionName}/{id:guid}")
	if err != nil {
		t.Fatal(err)
	}
	got := tmpl.FoldedChiPatterns("API")
	if len(got) != 1 || !strings.HasPrefix(got[0], "/api/orchestrators/{functionName}/{id:(?:[0-9A-Fa-f]") {
		t.Errorf("FoldedChiPatterns = %q", got)
	}
}
