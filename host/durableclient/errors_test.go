package durableclient_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/funchost/funchost/host/durableclient"
)

// storageError is what the storage SDK returns for a 500 from the table
// service: the request URL and a dump of the response.
func storageError(t *testing.T) error {
	t.Helper()
	u, _ := url.Parse("http://127.0.0.1:10002/devstoreaccount1/Instances(PartitionKey='x',RowKey='')")
	resp := &http.Response{
		StatusCode: 500, Status: "500 Internal Server Error",
		Header:  http.Header{"X-Ms-Error-Code": {"InternalError"}},
		Body:    io.NopCloser(strings.NewReader(`{"odata.error":{"code":"InternalError","message":{"value":"secret detail"}}}`)),
		Request: &http.Request{Method: "GET", URL: u},
	}
	return runtime.NewResponseError(resp)
}

func TestPublicMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		err   error
		want  string
		leaks []string
	}{
		{"storage SDK error", fmt.Errorf("azurestorage: reading instance %q: %w", "x", storageError(t)),
			`azurestorage: reading instance "x": the storage service answered 500 InternalError`,
			[]string{"127.0.0.1", "devstoreaccount1", "secret detail", "RESPONSE"}},
		{"transport error", fmt.Errorf("querying: %w", &url.Error{Op: "Get", URL: "https://acct.table.core.windows.net/Instances()?sig=abc", Err: errors.New("dial tcp: i/o timeout")}),
			`querying: Get <url>: dial tcp: i/o timeout`, []string{"acct", "sig=abc"}},
		{"plain", errors.New("engine: something broke"), "engine: something broke", nil},
		{"multi-line", errors.New("first line\nsecond line"), "first line", []string{"second"}},
		{"long", errors.New(strings.Repeat("é", 400)), strings.Repeat("é", 150) + "…", nil},
	} {
		got := durableclient.PublicMessage(tc.err)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		for _, l := range tc.leaks {
			if strings.Contains(got, l) {
				t.Errorf("%s: %q leaks %q", tc.name, got, l)
			}
		}
	}
}
