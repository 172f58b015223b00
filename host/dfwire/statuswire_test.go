package dfwire_test

import (
	"testing"
)

// The status object built the old way (Payload into json.RawMessage,
// MarshalJSON) is byte for byte the recorded one.
func TestStatusWireMarshal(t *testing.T) {
	for _, tc := range statusWireCases() {
		t.Run(tc.name, func(t *testing.T) {
			want, ok := statusWireWant[tc.name]
			if !ok {
				t.Fatalf("no recorded status object for %q", tc.name)
			}
			got, _ := tc.row.oldStatus().MarshalJSON()
			if string(got) != want {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
		})
	}
}
