package azurestorage

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// subResponse is one operation's reply inside a table $batch response.
type subResponse struct {
	status int
	etag   string
	body   string
}

// parseBatchResponse splits a captured $batch reply into its
// sub-responses, in request order. When the transaction fails the service
// returns a single sub-response with the failing operation's status.
func parseBatchResponse(c *batchCapture) ([]subResponse, error) {
	if c == nil || c.body == nil {
		return nil, fmt.Errorf("no $batch response was captured")
	}
	boundary := ""
	if _, params, err := mime.ParseMediaType(c.header.Get("Content-Type")); err == nil {
		boundary = params["boundary"]
	}
	if boundary == "" {
		boundary = firstLineBoundary(c.body)
	}
	if boundary == "" {
		return nil, fmt.Errorf("$batch response (status %d) is not multipart: %.200s", c.status, c.body)
	}
	var out []subResponse
	if err := readParts(c.body, boundary, &out, 0); err != nil {
		return nil, err
	}
	return out, nil
}

func firstLineBoundary(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimRight(line, "\r")
	if !bytes.HasPrefix(line, []byte("--")) {
		return ""
	}
	return string(line[2:])
}

func readParts(body []byte, boundary string, out *[]subResponse, depth int) error {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading $batch response: %w", err)
		}
		b, err := io.ReadAll(p)
		if err != nil && err != io.ErrUnexpectedEOF {
			return fmt.Errorf("reading $batch response part: %w", err)
		}
		ct := p.Header.Get("Content-Type")
		if strings.HasPrefix(strings.ToLower(ct), "multipart/") && depth == 0 {
			_, params, perr := mime.ParseMediaType(ct)
			inner := params["boundary"]
			if perr != nil || inner == "" {
				inner = firstLineBoundary(b)
			}
			if err := readParts(b, inner, out, depth+1); err != nil {
				return err
			}
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
		if err != nil {
			return fmt.Errorf("parsing $batch sub-response: %w", err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		*out = append(*out, subResponse{status: resp.StatusCode, etag: resp.Header.Get("ETag"), body: string(rb)})
	}
}
