package azurestorage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// clients are the three service clients of one storage account.
type clients struct {
	tables *aztables.ServiceClient
	queues *azqueue.ServiceClient
	blobs  *service.Client
}

// retryOptions tune azcore's retry policy for a task hub: quick first
// retries (Azurite answers in milliseconds), capped delays, and a bounded
// per-try time so a stalled connection does not hang a dispatcher. Loops
// above this retry forever with their own backoff.
func retryOptions() policy.RetryOptions {
	return policy.RetryOptions{
		MaxRetries:    5,
		RetryDelay:    100 * time.Millisecond,
		MaxRetryDelay: 3 * time.Second,
		TryTimeout:    2 * time.Minute,
	}
}

// sharedTransport keeps enough idle connections per host for a busy hub:
// azcore's default keeps 10, so bursts of parallel requests to one
// service would open and close connections all the time.
var sharedTransport = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}()

func clientOptions(counter *RequestCounter, svc string, faults policy.Policy, perCall ...policy.Policy) azcore.ClientOptions {
	perRetry := []policy.Policy{countingPolicy{c: counter, service: svc}}
	if faults != nil {
		perRetry = append(perRetry, faults)
	}
	return azcore.ClientOptions{
		Transport:        sharedTransport,
		Retry:            retryOptions(),
		PerRetryPolicies: perRetry,
		PerCallPolicies:  perCall,
		Telemetry:        policy.TelemetryOptions{Disabled: true},
	}
}

// newClients builds the service clients; faults is Options.faults (nil
// outside tests).
func newClients(conn Connection, counter *RequestCounter, faults policy.Policy) (*clients, error) {
	if conn.TableServiceURL == "" || conn.QueueServiceURL == "" || conn.BlobServiceURL == "" {
		return nil, errors.New("azurestorage: connection has no service endpoints (use ResolveConnection or ParseConnectionString)")
	}
	topts := &aztables.ClientOptions{ClientOptions: clientOptions(counter, "table", faults, batchCapturePolicy{})}
	qopts := &azqueue.ClientOptions{ClientOptions: clientOptions(counter, "queue", faults)}
	bopts := &service.ClientOptions{ClientOptions: clientOptions(counter, "blob", faults)}
	withSAS := func(u string) string { return u + "/?" + conn.SAS }
	c := &clients{}
	var err error
	switch {
	case conn.AccountKey != "":
		tk, err1 := aztables.NewSharedKeyCredential(conn.AccountName, conn.AccountKey)
		qk, err2 := azqueue.NewSharedKeyCredential(conn.AccountName, conn.AccountKey)
		bk, err3 := service.NewSharedKeyCredential(conn.AccountName, conn.AccountKey)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("azurestorage: account key: %w", err)
		}
		if c.tables, err = aztables.NewServiceClientWithSharedKey(conn.TableServiceURL, tk, topts); err != nil {
			return nil, err
		}
		if c.queues, err = azqueue.NewServiceClientWithSharedKeyCredential(conn.QueueServiceURL, qk, qopts); err != nil {
			return nil, err
		}
		if c.blobs, err = service.NewClientWithSharedKeyCredential(conn.BlobServiceURL+"/", bk, bopts); err != nil {
			return nil, err
		}
	case conn.SAS != "":
		if c.tables, err = aztables.NewServiceClientWithNoCredential(withSAS(conn.TableServiceURL), topts); err != nil {
			return nil, err
		}
		if c.queues, err = azqueue.NewServiceClientWithNoCredential(withSAS(conn.QueueServiceURL), qopts); err != nil {
			return nil, err
		}
		if c.blobs, err = service.NewClientWithNoCredential(withSAS(conn.BlobServiceURL), bopts); err != nil {
			return nil, err
		}
	case conn.Credential != nil:
		if c.tables, err = aztables.NewServiceClient(conn.TableServiceURL, conn.Credential, topts); err != nil {
			return nil, err
		}
		if c.queues, err = azqueue.NewServiceClient(conn.QueueServiceURL, conn.Credential, qopts); err != nil {
			return nil, err
		}
		if c.blobs, err = service.NewClient(conn.BlobServiceURL+"/", conn.Credential, bopts); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("azurestorage: connection has no credential (account key, SAS or token credential)")
	}
	return c, nil
}

// batchCapture receives the raw body of a table $batch response. aztables
// v1.4.1 parses the multipart reply but exposes neither the sub-responses'
// status codes nor their ETags, and the sentinel's new ETag is the
// instance's concurrency token, so it must come from the reply itself (a
// re-read could adopt a competitor's ETag).
type batchCapture struct {
	status int
	header http.Header
	body   []byte
}

type batchCaptureKey struct{}

// withBatchCapture returns a context under which the table client's
// $batch response body is copied into cap.
func withBatchCapture(ctx context.Context, c *batchCapture) context.Context {
	return context.WithValue(ctx, batchCaptureKey{}, c)
}

// batchCapturePolicy copies the body of responses for requests whose
// context carries a *batchCapture.
type batchCapturePolicy struct{}

func (batchCapturePolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	c, _ := req.Raw().Context().Value(batchCaptureKey{}).(*batchCapture)
	if err != nil || c == nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	b, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		return resp, rerr
	}
	c.status, c.header, c.body = resp.StatusCode, resp.Header.Clone(), b
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// statusOf returns the HTTP status of a storage error, or 0.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// errorCode returns the storage error code of err, or "".
func errorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func isNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }
func isConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// errString shortens storage errors for logs.
func errString(err error) string {
	s := err.Error()
	if i := strings.Index(s, "\n"); i > 0 && statusOf(err) != 0 {
		return fmt.Sprintf("%d %s: %s", statusOf(err), errorCode(err), strings.TrimSpace(s[:i]))
	}
	return s
}
