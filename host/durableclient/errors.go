package durableclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// authorErrors pairs the task hub's sentinel errors with the author API's
// for the same condition.
var authorErrors = [...]struct{ storage, author error }{
	{sp.ErrInstanceExists, bindings.ErrInstanceExists},
	{sp.ErrInstanceNotFound, bindings.ErrInstanceNotFound},
}

// hubError is a task hub error that also matches the bindings error of the
// same condition, so that callers of the client can test with either
// errors.Is(err, bindings.ErrInstanceExists) or the storageprovider one.
// Its text is the task hub's.
type hubError struct{ err, author error }

func (e *hubError) Error() string   { return e.err.Error() }
func (e *hubError) Unwrap() []error { return []error{e.err, e.author} }

// fromHub maps an error returned by the task hub (nil stays nil).
func fromHub(err error) error {
	if err == nil {
		return nil
	}
	for _, p := range authorErrors {
		if errors.Is(err, p.storage) {
			return &hubError{err: err, author: p.author}
		}
	}
	if IsUnavailable(err) && !errors.Is(err, bindings.ErrStorageUnavailable) {
		return &hubError{err: err, author: bindings.ErrStorageUnavailable}
	}
	return err
}

// What a 503 for an unavailable storage says: how long to wait, and that
// nothing was acknowledged.
const (
	UnavailableRetryAfter = 5 * time.Second
	UnavailableMessage    = "The task hub's storage is unavailable: the request was not carried out (nothing is acknowledged until it is stored). Retry after the Retry-After delay."
)

// IsUnavailable reports whether err says that storage could not be
// reached or could not serve the request (a network error, a timeout, a
// 5xx or 408 from the service): the operation may succeed when retried,
// and a client should get 503 with Retry-After rather than 500. A
// client's own mistake, or a conflict, is never "unavailable".
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, bindings.ErrStorageUnavailable) {
		return true
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode >= 500 || re.StatusCode == http.StatusRequestTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}

// maxPublicMessage bounds what PublicMessage returns.
const maxPublicMessage = 300

// urlPattern finds URLs (quoted by net/url's errors or bare).
var urlPattern = regexp.MustCompile(`"?[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"]*"?`)

// PublicMessage says in words what failed, for the body of a 500 answer:
// err's text with each storage service error replaced by its status and
// error code, URLs replaced by "<url>", cut at the first line break and at
// maxPublicMessage bytes. The storage SDK's errors carry the request URL
// (the account's endpoint) and a dump of the response; those belong in
// the host's log, which gets the full error.
func PublicMessage(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if full := re.Error(); full != "" {
			msg = strings.Replace(msg, full, fmt.Sprintf("the storage service answered %d %s", re.StatusCode, re.ErrorCode), 1)
		}
	}
	msg, _, _ = strings.Cut(msg, "\n")
	msg = urlPattern.ReplaceAllString(msg, "<url>")
	if len(msg) > maxPublicMessage {
		msg = strings.ToValidUTF8(msg[:maxPublicMessage], "") + "…"
	}
	return strings.TrimSpace(msg)
}
