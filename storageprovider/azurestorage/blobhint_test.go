package azurestorage

import (
	"bytes"
	"compress/gzip"
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// randomText is n pseudo-random letters: gzip keeps most of its size, so
// a few MB of it stay over trailerReadMin compressed.
func randomText(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// TestBlobLengthHint: uploads record the uncompressed length, downloads
// read a blob into one buffer of its size, and blobs without the length
// (older builds, other writers) or with a wrong one read as before.
func TestBlobLengthHint(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), nil)
	ctx := context.Background()
	if err := h.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	big := randomText(4 << 20)
	small := randomText(100_000)
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	// legacy uploads a gzip blob as earlier builds did, with the given
	// metadata (nil = none).
	legacy := func(t *testing.T, name, data string, meta map[string]*string) {
		t.Helper()
		_, err := h.blobs.c.NewBlockBlobClient(name).UploadBuffer(ctx, gz(data), &blockblob.UploadBufferOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentEncoding: to.Ptr("gzip"), BlobContentType: to.Ptr("application/json")},
			Metadata:    meta,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		data   string
		upload func(t *testing.T, name, data string)
		// oneCopy: the download allocates about the payload once.
		oneCopy bool
	}{
		{"recorded, large", big, func(t *testing.T, name, data string) {
			if err := h.blobs.uploadString(ctx, name, data); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"recorded, small", small, func(t *testing.T, name, data string) {
			if err := h.blobs.upload(ctx, name, []byte(data)); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"older build, large (trailer read)", big, func(t *testing.T, name, data string) { legacy(t, name, data, nil) }, true},
		{"older build, small", small, func(t *testing.T, name, data string) { legacy(t, name, data, nil) }, false},
		{"length too small", big, func(t *testing.T, name, data string) {
			legacy(t, name, data, map[string]*string{lengthMetadata: to.Ptr("10")})
		}, false},
		{"length too large", small, func(t *testing.T, name, data string) {
			legacy(t, name, data, map[string]*string{lengthMetadata: to.Ptr(strconv.Itoa(3 * len(small)))})
		}, false},
		{"length unbelievable", small, func(t *testing.T, name, data string) {
			legacy(t, name, data, map[string]*string{lengthMetadata: to.Ptr("999999999999")})
		}, false},
		{"length not a number", small, func(t *testing.T, name, data string) {
			legacy(t, name, data, map[string]*string{lengthMetadata: to.Ptr("x")})
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "hint/" + strings.ReplaceAll(tc.name, " ", "-") + ".json.gz"
			tc.upload(t, name, tc.data)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, err := h.blobs.downloadString(ctx, name)
			runtime.ReadMemStats(&after)
			if err != nil || got != tc.data {
				t.Fatalf("downloadString: %d bytes, %v; want %d", len(got), err, len(tc.data))
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes: %d allocated", len(got), alloc)
			if tc.oneCopy && alloc > uint64(len(tc.data))*5/4+(512<<10) {
				t.Fatalf("downloading %d bytes allocated %d: more than one copy", len(got), alloc)
			}
		})
	}
	props, err := h.blobs.c.NewBlobClient("hint/recorded,-large.json.gz").GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var recorded string
	for k, v := range props.Metadata {
		if strings.EqualFold(k, lengthMetadata) && v != nil {
			recorded = *v
		}
	}
	if recorded != strconv.Itoa(len(big)) {
		t.Fatalf("recorded length %q, want %d", recorded, len(big))
	}
}
