package durableclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/funchost/funchost/bindings"
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

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	busy := func(code int) error {
		u, _ := url.Parse("http://127.0.0.1:10001/devstoreaccount1/q/messages")
		return runtime.NewResponseError(&http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")),
			Request: &http.Request{Method: "POST", URL: u}})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"storage 500", storageError(t), true},
		{"storage 503", fmt.Errorf("sending: %w", busy(503)), true},
		{"storage 408", busy(408), true},
		{"storage 409", busy(409), false},
		{"storage 404", busy(404), false},
		{"connection refused", fmt.Errorf("x: %w", &url.Error{Op: "Post", URL: "http://h", Err: syscall.ECONNREFUSED}), true},
		{"try timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"instance exists", bindings.ErrInstanceExists, false},
		{"bad input", errors.New("invalid instance ID"), false},
	} {
		if got := durableclient.IsUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
