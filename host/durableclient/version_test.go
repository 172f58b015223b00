package durableclient_test

import (
	"context"
	"testing"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
)

// TestStartNewVersion: the client's default version (host.json
// defaultVersion) is stamped unless the start names one — even an empty
// one — and the status reports it.
func TestStartNewVersion(t *testing.T) {
	for _, tc := range []struct {
		name, def string
		opts      []bindings.Option
		want      string
	}{
		{"no default, none given", "", nil, ""},
		{"default", "2.0", nil, "2.0"},
		{"explicit wins", "2.0", []bindings.Option{bindings.WithVersion("1.0")}, "1.0"},
		{"explicit empty wins", "2.0", []bindings.Option{bindings.WithVersion("")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, hub := newClient(t, func(o *durableclient.Options) { o.DefaultVersion = tc.def })
			id, err := c.StartNew(context.Background(), "Hello", nil, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			sent := hub.Sent()
			if len(sent) != 1 || sent[0].Event.Version != tc.want {
				t.Fatalf("sent %+v, want one start of version %q", sent, tc.want)
			}
			st, err := c.GetStatus(context.Background(), id, bindings.StatusOptions{})
			if err != nil || st.Version != tc.want || durableclient.WireStatus(st).Version != tc.want {
				t.Fatalf("status %+v %v, want version %q", st, err, tc.want)
			}
		})
	}
}
