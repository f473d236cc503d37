package idp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

var fuzzProvider = sync.OnceValue(func() *Provider {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	p, err := New(Config{
		Issuer:     "http://127.0.0.1:8081",
		Clients:    []Client{{ID: "c", RedirectURIs: []string{"http://127.0.0.1:8080/cb"}}},
		Users:      []User{{Subject: "s1", Password: "correct horse battery", Email: "a@example.test"}, {Subject: "s2", Password: "pw", Email: "b@example.test", TOTPSecret: "JBSWY3DPEHPK3PXP", Practitioner: true}},
		Now:        func() time.Time { return time.Unix(1_700_000_000, 0) },
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		SigningKey: key,
	})
	if err != nil {
		panic(err)
	}
	return p
})

// FuzzLoginForm posts arbitrary sign-in forms (body, Accept-Language, CSRF
// cookie) to both sign-in steps of a live authorization request: no
// panic, no server error, no redirect anywhere but the registered
// redirect URI, and the submitted password never echoed.
func FuzzLoginForm(f *testing.F) {
	f.Add("username=a%40example.test&password=correct+horse+battery", "fr", true)
	f.Add("username=a%40example.test&password=wrong&csrf=x", "en-GB,en;q=0.8", false)
	f.Add("username=%00%ff&password=&id=", "*;q=0", true)
	f.Add("code=12+34+56", "fr-CA", true)
	f.Add("code=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96", "", true)
	f.Add("username=b%40example.test&password=pw", "zz-ZZ-x-1234567890,en", true)
	f.Add("a=%zz&&&=;", "en;q=abc", true)
	f.Fuzz(func(t *testing.T, body, acceptLang string, withToken bool) {
		p := fuzzProvider()
		// Start each input from a clean slate so that the attempt limits
		// do not hide the deeper paths.
		p.limits.mu.Lock()
		p.limits.fails = map[string][]time.Time{}
		p.limits.mu.Unlock()
		p.store.mu.Lock()
		p.store.usedStep = map[string]int64{}
		p.store.mu.Unlock()
		ar, err := p.store.CreateAuthRequest(context.Background(), &oidc.AuthRequest{
			ClientID: "c", RedirectURI: "http://127.0.0.1:8080/cb", ResponseType: oidc.ResponseTypeCode,
			Scopes: oidc.SpaceDelimitedArray{"openid"}, CodeChallenge: "abc", CodeChallengeMethod: oidc.CodeChallengeMethodS256,
		}, "")
		if err != nil {
			t.Fatal(err)
		}
		id := ar.GetID()
		defer p.store.DeleteAuthRequest(context.Background(), id)
		form, _ := url.ParseQuery(body)
		var cookie *http.Cookie
		for _, path := range []string{"/login", "/login/otp"} {
			// Get the page first for a genuine token, as a browser would.
			get := httptest.NewRecorder()
			greq := httptest.NewRequest(http.MethodGet, path+"?id="+id, nil)
			if cookie != nil {
				greq.AddCookie(cookie)
			}
			p.ServeHTTP(get, greq)
			for _, c := range get.Result().Cookies() {
				if c.MaxAge > 0 {
					cookie = c
				}
			}
			v := url.Values{}
			for k, vs := range form {
				v[k] = vs
			}
			if withToken && cookie != nil {
				v.Set("id", id)
				v.Set("csrf", cookie.Value)
			}
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(v.Encode()+"&"+body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept-Language", acceptLang)
			if cookie != nil {
				req.AddCookie(cookie)
			}
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode >= 500 {
				t.Fatalf("%s: status %d", path, res.StatusCode)
			}
			if loc := res.Header.Get("Location"); loc != "" && !strings.HasPrefix(loc, "/login") &&
				!strings.HasPrefix(loc, "http://127.0.0.1:8080/cb?") {
				t.Fatalf("%s: redirect to %q", path, loc)
			}
			if res.Header.Get("Content-Security-Policy") == "" {
				t.Fatalf("%s: no CSP", path)
			}
			pw := form.Get("password")
			out := rec.Body.String()
			if len(pw) >= 8 && pw != form.Get("username") && !strings.Contains(form.Get("username"), pw) &&
				strings.Contains(out, template.HTMLEscapeString(pw)) && !strings.Contains(messagesText(), pw) {
				t.Fatalf("%s: password echoed", path)
			}
		}
	})
}

// messagesText is every fixed text of the pages, which a fuzzed
// "password" may happen to equal.
func messagesText() string {
	var b strings.Builder
	b.WriteString(pageTemplate.Tree.Root.String())
	b.WriteString(css)
	for _, m := range messages {
		for _, s := range m {
			b.WriteString(s)
		}
	}
	return b.String()
}

// FuzzNormalizeCode checks the one-time-code parser: what it accepts is
// exactly six ASCII digits.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "12-34-56", "１２３４５６", "1234567", "", "\u00a0123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := normalizeCode(s)
		if !ok {
			return
		}
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("normalizeCode(%q) = %q", s, c)
		}
	})
}
