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
		{"a/{id:datetime}", "unsupported constraint"},
		{"a/{id:min(x)}", "not an integer"},
		{"a/{id:range(1)}", "takes 2 argument"},
		{"a/{id:length(1,2,3)}", "length(n) or length(min,max)"},
		{"a/{id:regex((?=x))}", "constraint"},
		{"a/{*rest:maxlength(3)}", "catch-all parameter cannot have a constraint"},
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

func TestValueConstraints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		route string
		value string
		ok    bool
	}{
		{"u/{x:minlength(3)}", "abc", true},
		{"u/{x:minlength(3)}", "ab", false},
		{"u/{x:maxlength(3)}", "abcd", false},
		{"u/{x:maxlength(3)}", "äöü", true},
		{"u/{x:length(2)}", "ab", true},
		{"u/{x:length(2)}", "abc", false},
		{"u/{x:length(2,4)}", "abcd", true},
		{"u/{x:length(2,4)}", "a", false},
		{"u/{x:min(10)}", "10", true},
		{"u/{x:min(10)}", "9", false},
		{"u/{x:min(10)}", "ten", false},
		{"u/{x:max(10)}", "-5", true},
		{"u/{x:max(10)}", "11", false},
		{"u/{x:range(1,5)}", "5", true},
		{"u/{x:range(1,5)}", "0", false},
		{"u/{x:int:range(1,5)}", "3", true},
		{"u/{x:regex(^[a-c]+$)}", "ABC", true},
		{"u/{x:regex(^[a-c]+$)}", "abd", false},
		{"u/{x:regex(b)}", "abc", true},
		{"u/{x:regex(^\\d{{3}}-\\d{{4}}$)}", "555-1234", true},
		{"u/{x:regex(^\\d{{3}}-\\d{{4}}$)}", "55-1234", false},
		{"u/{x:regex(^a:b$)}", "a:b", true},
		{"u/{x:regex(^a=b$)}", "a=b", true},
		{"u/{x:minlength(2)?}", "a", false},
		{"u/{x:minlength(2)=zz}", "zz", true},
	} {
		tmpl, err := Parse(tc.route)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.route, err)
			continue
		}
		if got := tmpl.Accepts(map[string]string{"x": tc.value}); got != tc.ok {
			t.Errorf("%s accepts %q = %v, want %v", tc.route, tc.value, got, tc.ok)
		}
	}
	// An absent optional value is not checked.
	tmpl, _ := Parse("u/{x:minlength(2)?}")
	if !tmpl.Accepts(map[string]string{}) || len(tmpl.ChiPatterns("")) != 2 {
		t.Error("absent optional value rejected")
	}
}
