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
const multipartSlack = 2

// multipartParts bounds the parts of a multipart form post: a form has a
// few fields and its files.
const multipartParts = 64

// readMultipartPost reads a widget's multipart form post as a stream,
// holding no more than it uses and writing nothing to disk: its fields,
// their names and the files' names (multipartFieldBytes in all), and its
// files, count of them held, each up to perFile bytes (one more is listed
// without content, so that the widget says there are too many). The body
// is cut at multipartSlack times the files' limit, and at multipartParts
// parts.
func readMultipartPost(w http.ResponseWriter, r *http.Request, perFile int64, count int) (url.Values, map[string][]postedPart, error) {
	total := multipartFieldBytes + multipartSlack*perFile*int64(count)
	allowSlowBody(w, total)
	r.Body = http.MaxBytesReader(w, r.Body, total)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, err
	}
	fields, files := url.Values{}, map[string][]postedPart{}
	fieldBytes, held, listed := int64(multipartFieldBytes), 0, 0
	spend := func(n int) error {
		if fieldBytes -= int64(n); fieldBytes < 0 {
			return errors.New("form fields too large")
		}
		return nil
	}
	for parts := 0; ; parts++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields, files, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if parts == multipartParts {
			return nil, nil, errors.New("too many parts")
		}
		name := p.FormName()
		if err := spend(len(name)); err != nil {
			return nil, nil, err
		}
		_, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if _, isFile := params["filename"]; !isFile {
			b, err := io.ReadAll(io.LimitReader(p, fieldBytes+1))
			if err != nil {
				return nil, nil, err
			}
			if err := spend(len(b)); err != nil {
				return nil, nil, err
			}
			if name != "" {
				fields.Add(name, string(b))
			}
			continue
		}
		if err := spend(len(p.FileName())); err != nil {
			return nil, nil, err
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
		if f.Name == "" && f.Size == 0 || f.OverCount && listed > count {
			continue // a file input left empty; or one more than the widget needs to say "too many"
		}
		listed++
		if !f.OverCount {
			held++
			if f.Size <= perFile {
				f.Content = b
			}
		}
		files[name] = append(files[name], f)
	}
}
