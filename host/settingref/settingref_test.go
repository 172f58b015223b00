package settingref

import "testing"

func TestResolve(t *testing.T) {
	settings := map[string]string{"Schedule": "0 */5 * * * *", "Queue": "orders", "Empty": ""}
	lookup := func(k string) (string, bool) { v, ok := settings[k]; return v, ok }
	tests := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"%Schedule%", "0 */5 * * * *", ""},
		{"%Queue%-out", "orders-out", ""},
		{"in/%Queue%/%Queue%.json", "in/orders/orders.json", ""},
		{"100%", "100%", ""},
		{"a%%b", "a%%b", ""},
		{"%Missing%", "", "'%Missing%' does not resolve to a value."},
		{"%Empty%", "", "'%Empty%' does not resolve to a value."},
	}
	for _, tc := range tests {
		got, err := Resolve(tc.in, lookup)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("Resolve(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
