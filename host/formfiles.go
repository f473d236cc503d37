package host

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// postedPart is a file of a widget's multipart form post (a message's
// attachment, an upload): its name and size as posted, its content when
// within the limit it was read with. A file over the limit, or beyond the
// count held, has no content: the widget says so, as it does for a file
// chosen in the browser.
type postedPart struct {
	Name      string
	Size      int64
	Content   []byte
	OverCount bool // beyond the files a post may carry: counted, not read
}

// multipartFieldBytes bounds the fields of a multipart form post, all
// together: a message of portal.MaxMessageBody characters (at most 4
// bytes each), a subject or a title, the ids.
const multipartFieldBytes = 64 << 10

// multipartSlack is how many times a post's files' total limit its body
// may reach: a file too large is read and dropped (memory holds only what
// is within the limits), so that the widget answers "too large" with what
// was written kept, rather than an error page.
const multipartSlack = 4

// readMultipartPost reads a widget's multipart form post as a stream,
// holding no more than it uses and writing nothing to disk: its fields
// (multipartFieldBytes in all), and its files, count of them held, each up
// to perFile bytes. The body is cut at multipartSlack times the files'
// limit.
func readMultipartPost(w http.ResponseWriter, r *http.Request, perFile int64, count int) (url.Values, map[string][]postedPart, error) {
	total := multipartFieldBytes + multipartSlack*perFile*int64(count)
	allowSlowBody(w, total)
	r.Body = http.MaxBytesReader(w, r.Body, total)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, err
	}
	fields, files := url.Values{}, map[string][]postedPart{}
	fieldBytes, held := int64(multipartFieldBytes), 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields, files, nil
		}
		if err != nil {
			return nil, nil, err
		}
		name := p.FormName()
		_, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if _, isFile := params["filename"]; !isFile {
			b, err := io.ReadAll(io.LimitReader(p, fieldBytes+1))
			if err != nil {
				return nil, nil, err
			}
			if fieldBytes -= int64(len(b)); fieldBytes < 0 {
				return nil, nil, errors.New("form fields too large")
			}
			if name != "" {
				fields.Add(name, string(b))
			}
			continue
		}
		f := postedPart{Name: p.FileName(), OverCount: held >= count}
		var b []byte
		if !f.OverCount {
			if b, err = io.ReadAll(io.LimitReader(p, perFile+1)); err != nil {
				return nil, nil, err
			}
		}
		rest, err := io.Copy(io.Discard, p)
		if err != nil {
			return nil, nil, err
		}
		f.Size = int64(len(b)) + rest
		if f.Name == "" && f.Size == 0 {
			continue // a file input left empty
		}
		if !f.OverCount {
			held++
			if f.Size <= perFile {
				f.Content = b
			}
		}
		files[name] = append(files[name], f)
	}
}
