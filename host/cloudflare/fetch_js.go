//go:build js && wasm

package cloudflare

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"syscall/js"
)

// Transport is an http.RoundTripper on the Workers fetch API, through
// globalThis.parcoursFetch, which worker.mjs defines. Call it only from
// the goroutine of the request being served (workerd refuses I/O on behalf
// of another request); it starts no goroutine and no Go timer. Give it to
// an http.Client without Timeout: a Go timer would belong to whichever
// request ran last. The fetch is aborted when the request's context ends:
// bound it with a context whose timer is the request's (AfterFunc, and
// host/internal/deadline).
//
// One round trip is one call into JS and one call back: JS sends the
// request, reads the whole response and hands Go plain values (status,
// headers as one string, see joinHeaders, body bytes). Going through the Response and
// its Headers from Go instead cost a JS call per value and a Go re-entry
// per header, most of the Worker's time on a FHIR read (measured,
// `make bench`).
type Transport struct{}

// fetchResult is what parcoursFetch hands back for one call.
type fetchResult struct {
	status     int
	statusText string
	headers    string
	body       []byte
	err        error
}

// fetches are the calls in flight, by id; fetchDone, the single Go
// function JS calls back with their results, is made once.
var (
	fetchMu   sync.Mutex
	fetchNext int
	fetches   = map[int]chan fetchResult{}
	fetchDone js.Func
	fetchOnce sync.Once
)

// done is globalThis.parcoursFetch's callback: done(id, status,
// statusText, headers, body) or done(id, 0, error). It runs on Go's event
// handler, where a panic would end the instance: it recovers and fails
// the call instead.
func done(_ js.Value, args []js.Value) any {
	id := args[0].Int()
	fetchMu.Lock()
	ch := fetches[id]
	delete(fetches, id)
	fetchMu.Unlock()
	if ch == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			ch <- fetchResult{err: fmt.Errorf("bad answer from parcoursFetch: %v", v)}
		}
	}()
	status := args[1].Int()
	if status == 0 {
		ch <- fetchResult{err: errors.New(args[2].String())}
		return nil
	}
	r := fetchResult{status: status, statusText: args[2].String(), headers: args[3].String()}
	r.body = make([]byte, args[4].Length())
	js.CopyBytesToGo(r.body, args[4])
	ch <- r
	return nil
}

// RoundTrip implements http.RoundTripper.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	fetch := js.Global().Get("parcoursFetch")
	if fetch.Type() != js.TypeFunction {
		return nil, errors.New("cloudflare: globalThis.parcoursFetch is not defined (see worker.mjs)")
	}
	fetchOnce.Do(func() { fetchDone = js.FuncOf(done) })
	var pairs [][2]string
	for k, vs := range req.Header {
		for _, v := range vs {
			pairs = append(pairs, [2]string{k, v})
		}
	}
	body := js.Null()
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = js.Global().Get("Uint8Array").New(len(b))
		js.CopyBytesToJS(body, b)
	}
	ch := make(chan fetchResult, 1)
	fetchMu.Lock()
	fetchNext++
	id := fetchNext
	fetches[id] = ch
	fetchMu.Unlock()
	ac := fetch.Invoke(id, req.URL.String(), req.Method, joinHeaders(pairs), body, fetchDone)
	var r fetchResult
	select {
	case r = <-ch:
	case <-req.Context().Done():
		// A timeout on a JS timer of the request (AfterFunc) or the
		// caller gone: abort the fetch, whose failure then comes back.
		ac.Call("abort")
		<-ch
		return nil, fmt.Errorf("cloudflare: fetch %s: %w", req.URL.Redacted(), req.Context().Err())
	}
	if r.err != nil {
		return nil, fmt.Errorf("cloudflare: fetch %s: %w", req.URL.Redacted(), r.err)
	}
	hs, err := splitHeaders(r.headers)
	if err != nil {
		return nil, fmt.Errorf("cloudflare: fetch %s: %w", req.URL.Redacted(), err)
	}
	out := &http.Response{
		Status:        strconv.Itoa(r.status) + " " + r.statusText,
		StatusCode:    r.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, len(hs)),
		Body:          io.NopCloser(bytes.NewReader(r.body)),
		ContentLength: int64(len(r.body)),
		Request:       req,
	}
	for _, kv := range hs {
		out.Header.Add(kv[0], kv[1])
	}
	// fetch has already decoded any Content-Encoding.
	out.Header.Del("Content-Encoding")
	out.Header.Del("Content-Length")
	return out, nil
}
