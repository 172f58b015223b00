package azurestorage

import (
	"context"
	"io"

	sp "github.com/funchost/funchost/storageprovider"
)

// The whole-buffer forms of the provider's encoders and readers, which
// the tests compare the streamed forms with and use for fixtures.

// encodeMessage renders m as a MessageData body. activityID names the
// message (and its blob, if offloaded).
//
// The body is allocated once at its final size (encodeMessageBody).
func encodeMessage(m *sp.TaskMessage, activityID string, sender sp.OrchestrationInstance) ([]byte, error) {
	body, err := encodeMessageBody(m, activityID, sender)
	if err != nil {
		return nil, err
	}
	return body.bytes(), nil
}

// upload stores data gzipped as blob name. data is only read (it is
// viewed as a string for the upload, not changed).
func (b *largeStore) upload(ctx context.Context, name string, data []byte) error {
	if len(data) == 0 {
		return b.uploadString(ctx, name, "")
	}
	return b.uploadString(ctx, name, ownedString(data))
}

// readMaybeGzip reads r whole, un-gzipping it when it starts with the gzip
// magic bytes.
func readMaybeGzip(r io.Reader) ([]byte, error) { return readMaybeGzipSized(r, 0) }

// quotedLen is the length of s as appendQuoted writes it, quotes included.
func quotedLen(s string) int { return 2 + escapedLen(s) }

// appendQuoted appends s as encoding/json encodes a string, quotes
// included.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}
