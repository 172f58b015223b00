package sampleapp_test

import (
	"slices"
	"testing"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/bindings/bindingstest"
	"github.com/funchost/funchost/samples/sampleapp"
)

// TestOrderWorkflowVersions: with defaultVersion 2.0 a new order takes the
// fraud check; one started under 1.0 (or with no version) keeps the old
// steps.
func TestOrderWorkflowVersions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []bindings.Option
		version string
		want    []string
	}{
		{"new instance gets defaultVersion", nil, "2.0", []string{"reserved o1", "checked o1", "shipped o1"}},
		{"started under 1.0", []bindings.Option{bindings.WithVersion("1.0")}, "1.0", []string{"reserved o1", "shipped o1"}},
		{"started before versioning", []bindings.Option{bindings.WithVersion("")}, "", []string{"reserved o1", "shipped o1"}},
		{"a later version", []bindings.Option{bindings.WithVersion("2.1")}, "2.1", []string{"reserved o1", "checked o1", "shipped o1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := bindingstest.New(t, sampleapp.Handlers(), bindingstest.DefaultVersion(sampleapp.OrderWorkflowV2))
			run := h.Start("OrderWorkflow", "o1", tc.opts...)
			var status string
			run.CustomStatus(&status)
			if status != "awaiting payment" || run.Version() != tc.version {
				t.Fatalf("custom status %q, version %q; want awaiting payment, %q", status, run.Version(), tc.version)
			}
			run.RaiseEvent("Paid", nil)
			var out []string
			run.Output(&out)
			if !slices.Equal(out, tc.want) {
				t.Fatalf("output %q, want %q", out, tc.want)
			}
		})
	}
}
