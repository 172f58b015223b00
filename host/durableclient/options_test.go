package durableclient_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
)

// StartNew refuses options it does not take, naming them, and sends
// nothing.
func TestStartNewRefusesForeignOptions(t *testing.T) {
	c, hub := newClient(t)
	for _, tt := range []struct {
		opt  bindings.Option
		name string
	}{
		{bindings.WithTimeout(time.Second), "WithTimeout"},
		{bindings.PreserveUnprocessedEvents(), "PreserveUnprocessedEvents"},
		{bindings.WithRetry(bindings.RetryPolicy{MaxAttempts: 2, FirstRetryInterval: time.Second}), "WithRetry"},
	} {
		_, err := c.StartNew(context.Background(), "Hello", nil, bindings.WithInstanceID("x"), tt.opt)
		if err == nil || !strings.Contains(err.Error(), "StartNew does not take the option "+tt.name) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	if n := len(hub.Sent()); n != 0 {
		t.Fatalf("refused starts sent %d messages", n)
	}
}
