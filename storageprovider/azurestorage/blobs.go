package azurestorage

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

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
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(data)
	zw.Close()
	_, err := b.c.NewBlockBlobClient(name).UploadBuffer(ctx, buf.Bytes(), &blockblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentEncoding: to.Ptr("gzip"), BlobContentType: to.Ptr("application/json")},
	})
	if err != nil {
		return fmt.Errorf("azurestorage: uploading blob %s: %w", name, err)
	}
	return nil
}

// download reads and un-gzips a blob.
func (b *largeStore) download(ctx context.Context, name string) ([]byte, error) {
	resp, err := b.c.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("azurestorage: downloading blob %s: %w", name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("azurestorage: downloading blob %s: %w", name, err)
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return raw, nil // not compressed
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("azurestorage: blob %s: %w", name, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("azurestorage: blob %s: %w", name, err)
	}
	return data, nil
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
		if err := b.upload(ctx, name, []byte(s)); err != nil {
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
		data, err := b.download(ctx, name)
		if err != nil {
			return err
		}
		e[col] = string(data)
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
		if err := b.upload(ctx, name, []byte(s)); err != nil {
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
			d, err := decodeBody(string(data))
			if err == nil && d.msg != nil {
				e[col] = d.msg.Event.Input
				continue
			}
		}
		e[col] = string(data)
	}
	return nil
}
