package mgmtapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestStartVersion: the start route's version query parameter is stamped
// on the instance, and the status object names it.
func TestStartVersion(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"?version=2.0", `"version":"2.0"}`},
		{"", `"lastUpdatedTime":`},
	} {
		s, hub := fake(t)
		p := checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo"+tc.query, nil))
		sent := hub.Sent()
		if want := strings.TrimPrefix(tc.query, "?version="); len(sent) != 1 || sent[0].Event.Version != want {
			t.Fatalf("start %s: sent %+v, want version %q", tc.query, sent, want)
		}
		r := do(t, "GET", p.StatusQueryGetURI, nil)
		expect(t, r, http.StatusAccepted, "-")
		if !strings.Contains(string(r.body), tc.want) || (tc.query == "" && strings.Contains(string(r.body), `"version"`)) {
			t.Errorf("start %s: status %s, want %s", tc.query, r.body, tc.want)
		}
	}
}
