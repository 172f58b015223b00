package azurestorage

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unsafe"

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

// upload stores data gzipped as blob name.
func (b *largeStore) upload(ctx context.Context, name string, data []byte) error {
	return b.uploadGzip(ctx, name, func(zw io.Writer) error {
		_, err := zw.Write(data)
		return err
	})
}

// uploadString stores s gzipped as blob name, without converting it to a
// []byte first (a table column holding a 50 MB payload is a string).
func (b *largeStore) uploadString(ctx context.Context, name, s string) error {
	return b.uploadGzip(ctx, name, func(zw io.Writer) error {
		buf := make([]byte, 64<<10)
		for len(s) > 0 {
			n := copy(buf, s)
			if _, err := zw.Write(buf[:n]); err != nil {
				return err
			}
			s = s[n:]
		}
		return nil
	})
}

// uploadGzip gzips what write writes into fixed-size slabs (no growing
// buffer that copies itself at each doubling) and sends them as one Put
// Blob request, the same single-request upload as before.
func (b *largeStore) uploadGzip(ctx context.Context, name string, write func(io.Writer) error) error {
	var body slabs
	zw, _ := gzip.NewWriterLevel(&body, gzip.BestSpeed)
	if err := write(zw); err != nil {
		return fmt.Errorf("azurestorage: compressing blob %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("azurestorage: compressing blob %s: %w", name, err)
	}
	_, err := b.c.NewBlockBlobClient(name).Upload(ctx, body.reader(), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentEncoding: to.Ptr("gzip"), BlobContentType: to.Ptr("application/json")},
	})
	if err != nil {
		return fmt.Errorf("azurestorage: uploading blob %s: %w", name, err)
	}
	return nil
}

// download reads and un-gzips a blob (a blob that is not gzip is returned
// as it is). It streams: the compressed bytes are never held whole, and
// the result is allocated once at its final size.
func (b *largeStore) download(ctx context.Context, name string) ([]byte, error) {
	resp, err := b.c.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("azurestorage: downloading blob %s: %w", name, err)
	}
	defer resp.Body.Close()
	data, err := readMaybeGzip(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("azurestorage: downloading blob %s: %w", name, err)
	}
	return data, nil
}

// downloadString is download as a string, without a second copy.
func (b *largeStore) downloadString(ctx context.Context, name string) (string, error) {
	data, err := b.download(ctx, name)
	return ownedString(data), err
}

// readMaybeGzip reads r whole, un-gzipping it when it starts with the gzip
// magic bytes.
func readMaybeGzip(r io.Reader) ([]byte, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		src = zr
	}
	var out slabs
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

// reader returns the contents as the seekable body an upload needs.
func (s *slabs) reader() io.ReadSeekCloser { return &slabReader{s: s} }

type slabReader struct {
	s   *slabs
	off int64
}

func (r *slabReader) Read(p []byte) (int, error) {
	if r.off >= r.s.n {
		return 0, io.EOF
	}
	part, in := int(r.off/slabSize), int(r.off%slabSize)
	n := copy(p, r.s.parts[part][in:])
	r.off += int64(n)
	return n, nil
}

func (r *slabReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.s.n
	default:
		return 0, errors.New("slabReader: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("slabReader: negative position")
	}
	r.off = offset
	return offset, nil
}

func (r *slabReader) Close() error { return nil }

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
			d, err := decodeBodyBytes(data)
			if err == nil && d.msg != nil {
				e[col] = d.msg.Event.Input
				continue
			}
		}
		e[col] = ownedString(data)
	}
	return nil
}
