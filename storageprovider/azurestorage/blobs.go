package azurestorage

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unsafe"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// largeStore is the large-messages container: payloads too big for a
// queue message or a table column, stored as gzip blobs under the
// sanitized instance ID (see docs/storage-layout.md, "Large payloads").
type largeStore struct {
	c    *container.Client
	name string // the container's name, as it appears in blob URLs
}

// uploadString stores s gzipped as blob name in one Put Blob request,
// with the gzip made as the request reads it (gzipStream): neither a
// []byte copy of s nor the compressed blob is held whole.
func (b *largeStore) uploadString(ctx context.Context, name, s string) error {
	return b.uploadPieces(ctx, name, len(s), bodyPiece{text: s})
}

// uploadMessage stores an offloaded message's body gzipped as blob name,
// escaping its large strings as the gzip reads them: the body is never
// held whole. The blob is the one a whole-body upload stores.
func (b *largeStore) uploadMessage(ctx context.Context, name string, body messageBody) error {
	return b.uploadPieces(ctx, name, body.n, body.pieces...)
}

// uploadPieces stores the pieces' concatenation, n bytes long, gzipped
// as blob name in one Put Blob request.
func (b *largeStore) uploadPieces(ctx context.Context, name string, n int, pieces ...bodyPiece) error {
	body, err := newGzipStream(pieces...)
	if err != nil {
		return fmt.Errorf("azurestorage: compressing blob %s: %w", name, err)
	}
	_, err = b.c.NewBlockBlobClient(name).Upload(ctx, body, &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentEncoding: to.Ptr("gzip"), BlobContentType: to.Ptr("application/json")},
		Metadata:    map[string]*string{lengthMetadata: to.Ptr(strconv.Itoa(n))},
	})
	if err != nil {
		return fmt.Errorf("azurestorage: uploading blob %s: %w", name, err)
	}
	return nil
}

// lengthMetadata is the blob metadata item uploadString records the
// uncompressed length in, so that a download can allocate its result at
// once at its final size. Readers that do not know it ignore it.
const lengthMetadata = "FunchostLength"

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// download reads and un-gzips a blob (a blob that is not gzip is returned
// as it is). It streams: the compressed bytes are never held whole, and
// the result is allocated once at its final size when that is known
// (sizeHint).
func (b *largeStore) download(ctx context.Context, name string) ([]byte, error) {
	ctx = rawGzip(ctx)
	resp, err := b.c.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("azurestorage: downloading blob %s: %w", name, err)
	}
	defer resp.Body.Close()
	data, err := readMaybeGzipSized(resp.Body, b.sizeHint(ctx, name, resp))
	if err != nil {
		return nil, fmt.Errorf("azurestorage: downloading blob %s: %w", name, err)
	}
	return data, nil
}

// rawGzip asks for a blob's stored bytes as they are. Go's transport,
// when it adds Accept-Encoding: gzip itself, un-gzips a gzip-encoded body
// and drops its Content-Length; with the header set here it leaves both
// (readMaybeGzipSized un-gzips), so the compressed size is known, and a ranged
// read of a gzip blob's last bytes is not taken for a gzip stream.
func rawGzip(ctx context.Context) context.Context {
	return policy.WithHTTPHeader(ctx, http.Header{"Accept-Encoding": {"gzip"}})
}

// Blobs written before the length was recorded (or by other writers) are
// asked for their gzip trailer when their compressed size is at least
// trailerReadMin: one more request, worth it only where the copy it saves
// is large.
const trailerReadMin = 1 << 20

// maxDeflateRatio bounds a hint by the compressed size: deflate expands
// at most about 1032 times, so a larger claim is not believed.
const maxDeflateRatio = 1032

// sizeHint is the blob's uncompressed length: the recorded metadata item,
// or for an older gzip blob of trailerReadMin or more the gzip trailer's
// ISIZE (the length mod 2^32), read with a ranged GET of its last four
// bytes. 0 when unknown. It is only a hint: a wrong one costs a copy,
// never a wrong result.
func (b *largeStore) sizeHint(ctx context.Context, name string, resp blob.DownloadStreamResponse) int {
	var compressed int64 = -1
	if resp.ContentLength != nil {
		compressed = *resp.ContentLength
	}
	believable := func(n int64) int {
		if n <= 0 || compressed < 0 || n > compressed*maxDeflateRatio+64 || n > math.MaxInt32 {
			return 0
		}
		return int(n)
	}
	for k, v := range resp.Metadata {
		if strings.EqualFold(k, lengthMetadata) && v != nil {
			n, err := strconv.ParseInt(*v, 10, 64)
			if err != nil {
				return 0
			}
			return believable(n)
		}
	}
	if compressed < trailerReadMin || resp.ContentEncoding == nil || *resp.ContentEncoding != "gzip" {
		return 0
	}
	tr, err := b.c.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: compressed - 4, Count: 4},
	})
	if err != nil {
		return 0
	}
	defer tr.Body.Close()
	var isize [4]byte
	if _, err := io.ReadFull(tr.Body, isize[:]); err != nil {
		return 0
	}
	return believable(int64(binary.LittleEndian.Uint32(isize[:])))
}

// downloadString is download as a string, without a second copy.
func (b *largeStore) downloadString(ctx context.Context, name string) (string, error) {
	data, err := b.download(ctx, name)
	return ownedString(data), err
}

// readMaybeGzipSized reads r whole, un-gzipping it when it starts with the
// gzip magic bytes, for a result of about hint bytes (0 = unknown): with a
// hint the result is read straight into one buffer of that size; without
// one it is gathered in slabs and joined.
func readMaybeGzipSized(r io.Reader, hint int) ([]byte, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		src = zr
	}
	if hint > 0 {
		return readInto(src, make([]byte, 0, hint))
	}
	var out slabs
	if _, err := io.Copy(&out, src); err != nil {
		return nil, err
	}
	return out.bytes(), nil
}

// readInto appends src to buf until EOF. A buffer of the right capacity
// is filled without any copy; when it turns out too small, what it holds
// and the rest go to slabs and are joined (the cost of an unknown size).
func readInto(src io.Reader, buf []byte) ([]byte, error) {
	for len(buf) < cap(buf) {
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	var probe [1]byte
	n, err := io.ReadFull(src, probe[:])
	if n == 0 {
		if err == io.EOF {
			return buf, nil
		}
		return nil, err
	}
	var out slabs
	_, _ = out.Write(buf)
	_, _ = out.Write(probe[:])
	if _, err := io.Copy(&out, src); err != nil {
		return nil, err
	}
	return out.bytes(), nil
}

// ownedString views b as a string without copying. b must be the caller's
// own fresh buffer, never changed afterwards (download's result is).
func ownedString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// slabSize is the unit slabs grow by.
const slabSize = 1 << 20

// slabs is an append-only byte sequence kept in fixed-size pieces: it
// grows without copying what it holds, so building a large blob body
// never needs the old and the new buffer of a doubling at once.
type slabs struct {
	parts [][]byte
	n     int64
}

func (s *slabs) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		if len(s.parts) == 0 || len(s.parts[len(s.parts)-1]) == slabSize {
			s.parts = append(s.parts, make([]byte, 0, slabSize))
		}
		last := &s.parts[len(s.parts)-1]
		k := min(len(p), slabSize-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	s.n += int64(written)
	return written, nil
}

// bytes returns the contents in one slice of exactly their size (the one
// slab itself when there is only one).
func (s *slabs) bytes() []byte {
	if len(s.parts) == 1 {
		return s.parts[0]
	}
	out := make([]byte, 0, s.n)
	for _, p := range s.parts {
		out = append(out, p...)
	}
	return out
}

// url is the URL stored in an Instances row for an offloaded value.
func (b *largeStore) url(name string) string { return b.c.NewBlobClient(name).URL() }

// nameFromURL extracts the blob name from a URL of this container ("" if
// the URL points elsewhere).
func (b *largeStore) nameFromURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	path, err := url.PathUnescape(pu.EscapedPath())
	if err != nil {
		path = pu.Path
	}
	marker := "/" + b.name + "/"
	i := strings.Index(path, marker)
	if i < 0 {
		return ""
	}
	return path[i+len(marker):]
}

// deleteWithPrefix deletes every blob whose name starts with prefix.
func (b *largeStore) deleteWithPrefix(ctx context.Context, prefix string) error {
	pager := b.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if isNotFound(err) {
				return nil
			}
			return err
		}
		for _, item := range page.Segment.BlobItems {
			if _, err := b.c.NewBlobClient(*item.Name).Delete(ctx, nil); err != nil && !isNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// offloadHistoryColumns moves string columns over the table limit to
// blobs, leaving "" and a sibling "<Column>BlobName".
func (b *largeStore) offloadHistoryColumns(ctx context.Context, e entity, instanceKey string) error {
	for _, col := range largeHistoryColumns {
		s := e.str(col)
		if utf16Bytes(s) <= tablePropertyLimit {
			continue
		}
		name := fmt.Sprintf("%s/history-%s-%s-%s-%s.json.gz", instanceKey, e.str("RowKey"), e.str("EventType"), newActivityID()[:8], col)
		if err := b.uploadString(ctx, name, s); err != nil {
			return err
		}
		e[col] = ""
		e[col+"BlobName"] = name
	}
	return nil
}

// restoreHistoryColumns downloads the columns offloadHistoryColumns moved.
func (b *largeStore) restoreHistoryColumns(ctx context.Context, e entity) error {
	for k, v := range e {
		col, ok := strings.CutSuffix(k, "BlobName")
		name, isStr := v.(string)
		if !ok || !isStr || name == "" || strings.Contains(k, "@") {
			continue
		}
		data, err := b.downloadString(ctx, name)
		if err != nil {
			return err
		}
		e[col] = data
	}
	return nil
}

// offloadInstanceColumns moves an oversized Input or Output of an
// Instances row to a blob and stores the blob's URL instead.
func (b *largeStore) offloadInstanceColumns(ctx context.Context, e entity, instanceID string) error {
	for _, col := range []string{"Input", "Output", "CustomStatus"} {
		s := e.str(col)
		if utf16Bytes(s) <= tablePropertyLimit {
			continue
		}
		name := fmt.Sprintf("%s/instance-%s-%s.json.gz", sanitizeKey(instanceID), strings.ToLower(col), newActivityID()[:8])
		if err := b.uploadString(ctx, name, s); err != nil {
			return err
		}
		e[col] = b.url(name)
	}
	return nil
}

// restoreInstanceColumns resolves blob URLs in an Instances row. A URL to
// an offloaded ExecutionStarted message (DTFx does that for large inputs)
// yields the message's input.
func (b *largeStore) restoreInstanceColumns(ctx context.Context, e entity) error {
	for _, col := range []string{"Input", "Output", "CustomStatus"} {
		s := e.str(col)
		if !isBlobURL(s) {
			continue
		}
		name := b.nameFromURL(s)
		if name == "" {
			continue
		}
		data, err := b.download(ctx, name)
		if err != nil {
			return err
		}
		if strings.HasSuffix(name, "ExecutionStarted.json.gz") {
			e[col] = startMessageInput(data)
			continue
		}
		e[col] = ownedString(data)
	}
	return nil
}
