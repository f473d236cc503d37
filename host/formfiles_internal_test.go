package host

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// multipartRequest is a POST of a multipart body built by fill.
func multipartRequest(fill func(w *multipart.Writer)) *http.Request {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fill(w)
	w.Close()
	r := httptest.NewRequest("POST", "/w/messages", &body)
	r.Header.Set("Content-Type", w.FormDataContentType())
	return r
}

// TestReadMultipartPost: fields and files are read within their bounds; a
// file over the limit has its size and no content; one file more than the
// count is listed without content (the widget says "too many"), further
// ones are dropped; names count against the fields' budget; too many parts
// and an empty file input are handled.
func TestReadMultipartPost(t *testing.T) {
	r := multipartRequest(func(w *multipart.Writer) {
		w.WriteField("body", "bonjour")
		for i, size := range []int{3, 12, 4, 5, 6} {
			f, _ := w.CreateFormFile("files", fmt.Sprintf("f%d.pdf", i))
			f.Write(bytes.Repeat([]byte{'x'}, size))
		}
		w.CreateFormFile("files", "") // an empty input
		w.WriteField("a", "send:t")
	})
	fields, files, err := readMultipartPost(httptest.NewRecorder(), r, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	if fields.Get("body") != "bonjour" || fields.Get("a") != "send:t" {
		t.Errorf("fields %v", fields)
	}
	got := files["files"]
	if len(got) != 4 {
		t.Fatalf("%d files listed, want 3 held and 1 over the count: %+v", len(got), got)
	}
	if string(got[0].Content) != "xxx" || got[1].Content != nil || got[1].Size != 12 || len(got[2].Content) != 4 || !got[3].OverCount || got[3].Content != nil {
		t.Errorf("files %+v", got)
	}

	for name, fill := range map[string]func(w *multipart.Writer){
		"too many parts": func(w *multipart.Writer) {
			for range multipartParts + 1 {
				w.WriteField("x", "")
			}
		},
		"names over the budget": func(w *multipart.Writer) {
			for i := range 40 {
				f, _ := w.CreateFormFile("files", strings.Repeat("n", 2000)+fmt.Sprint(i))
				f.Write([]byte("x"))
			}
		},
		"a field over the budget": func(w *multipart.Writer) {
			w.WriteField("body", strings.Repeat("é", multipartFieldBytes))
		},
	} {
		if _, _, err := readMultipartPost(httptest.NewRecorder(), multipartRequest(fill), 10, 3); err == nil {
			t.Errorf("%s: read", name)
		}
	}
}

// FuzzReadMultipartPost: a multipart body comes from the browser. Reading
// it never panics, and what it keeps is within bounds.
func FuzzReadMultipartPost(f *testing.F) {
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nbonjour\r\n--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.7\r\n--b--\r\n"))
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\n\r\n\r\n--b--\r\n"))
	f.Add([]byte("--b--\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/w/messages", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		fields, files, err := readMultipartPost(httptest.NewRecorder(), r, 16, 2)
		if err != nil {
			return
		}
		n := 0
		for k, vs := range fields {
			n += len(k)
			for _, v := range vs {
				n += len(v)
			}
		}
		listed := 0
		for _, fs := range files {
			for _, p := range fs {
				listed++
				if len(p.Content) > 16 || p.OverCount && p.Content != nil {
					t.Fatalf("kept %+v", p)
				}
			}
		}
		if n > multipartFieldBytes || listed > 3 {
			t.Fatalf("kept %d field bytes, %d files", n, listed)
		}
	})
}
