package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/internal/syncbuf"
)

func TestCheckDemoAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.2:8080", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{"192.168.1.10:8080", false},
		{"parcours.chu-exemple.fr:443", false},
		{"127.0.0.1", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if err := CheckDemoAddr(tc.addr); (err == nil) != tc.ok {
				t.Errorf("CheckDemoAddr(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
			}
		})
	}
}

// TestServeRefusesDemoSignInOnPublicAddress: the host does not start at all.
func TestServeRefusesDemoSignInOnPublicAddress(t *testing.T) {
	var out bytes.Buffer
	err := serve(context.Background(), []string{"-addr", "0.0.0.0:0", "-demo-signin", "-db", t.TempDir() + "/x.db"}, false, &out)
	if err == nil || !strings.Contains(err.Error(), "demo sign-in") {
		t.Fatalf("serve = %v, want a refusal of the demo sign-in", err)
	}
}

func TestSnippet(t *testing.T) {
	var out bytes.Buffer
	if err := snippet([]string{"-host", "https://parcours.chu-exemple.fr", "-service", "maternite"}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{`src="https://parcours.chu-exemple.fr/parcours.js"`, `integrity="sha384-`, `crossorigin="anonymous"`, `<parcours-booking establishment="chu-exemple" service="maternite" lang="fr"></parcours-booking>`} {
		if !strings.Contains(s, want) {
			t.Errorf("snippet lacks %s:\n%s", want, s)
		}
	}
	out.Reset()
	if err := snippet([]string{"-host", "https://parcours.chu-exemple.fr", "-questionnaire", "epds", "-lang", "en"}, &out); err != nil {
		t.Fatal(err)
	}
	if want := `<parcours-questionnaire establishment="chu-exemple" questionnaire="epds" lang="en"></parcours-questionnaire>`; !strings.Contains(out.String(), want) {
		t.Errorf("questionnaire snippet lacks %s:\n%s", want, out.String())
	}
	// With the page's origin and its theme: the frame in the markup.
	out.Reset()
	if err := snippet([]string{"-host", "https://parcours.chu-exemple.fr", "-widget", "documents", "-page", "https://www.chu-exemple.fr", "-theme", "primary=#5b2a86, radius=6px"}, &out); err != nil {
		t.Fatal(err)
	}
	if want := `<iframe src="https://parcours.chu-exemple.fr/w/documents?establishment=chu-exemple&amp;lang=fr&amp;parent=https%3A%2F%2Fwww.chu-exemple.fr&amp;theme-primary=%235b2a86&amp;theme-radius=6px"`; !strings.Contains(out.String(), want) {
		t.Errorf("framed snippet lacks %s:\n%s", want, out.String())
	}
	for _, args := range [][]string{{"-page", "chu-exemple.fr"}, {"-theme", "primary=#000"}, {"-page", "https://www.chu-exemple.fr", "-theme", "primary"}} {
		if err := snippet(args, io.Discard); err == nil {
			t.Errorf("snippet %q: no error", args)
		}
	}
}

// TestDemoStartsAndStops runs the demo command on free loopback ports and
// stops it as Ctrl+C would.
func TestDemoStartsAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-addr", "127.0.0.1:0", "-site-addr", "127.0.0.1:0", "-idp-addr", "127.0.0.1:0", "-db", t.TempDir() + "/demo.db", "-assets", t.TempDir(), "-log-level", "error"}, true, &out)
	}()
	// The demo starts a FHIR server (node) when it can: under a loaded
	// CI machine that takes a while.
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && !strings.Contains(out.String(), "Press Ctrl+C"); {
		select {
		case err := <-done:
			t.Fatalf("demo stopped: %v\n%s", err, out.String())
		default:
		}
		sleep()
	}
	if !strings.Contains(out.String(), "hospital page: http://127.0.0.1:") || !strings.Contains(out.String(), "integrity=\"sha384-") {
		t.Fatalf("demo banner:\n%s", out.String())
	}
	// Sign-in goes to the demo identity provider, which answers discovery.
	banner := out.String()
	hostURL := regexp.MustCompile(`host: +(http://127\.0\.0\.1:[0-9]+)/`).FindStringSubmatch(banner)
	idpURL := regexp.MustCompile(`demo identity provider (http://127\.0\.0\.1:[0-9]+)`).FindStringSubmatch(banner)
	if hostURL == nil || idpURL == nil {
		t.Fatalf("no host or identity provider address in the banner:\n%s", banner)
	}
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(hostURL[1] + "/auth/signin?provider=demo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, idpURL[1]+"/authorize?") {
		t.Errorf("sign-in: %d to %q, want a redirect to the demo provider", resp.StatusCode, loc)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo returned %v after stop", err)
	}
}

func TestSMTPOptions(t *testing.T) {
	o, err := parseOptions([]string{"-db", t.TempDir() + "/x.db"}, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := o.smtp.sender(nil, nil, nil); s != nil || err != nil {
		t.Fatalf("without -smtp: sender = %v, %v; want none (notifications off)", s, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-smtp", "smtp.example.org:587"}, "-smtp-from"},
		{[]string{"-smtp", "smtp.example.org:587", "-smtp-from", "p@example.org", "-smtp-starttls=false", "-smtp-user", "u"}, "STARTTLS"},
		{[]string{"-smtp", "smtp.example.org", "-smtp-from", "p@example.org"}, "host:port"},
	} {
		o, err := parseOptions(tc.args, false, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if !o.smtp.startTLS && !slices.Contains(tc.args, "-smtp-starttls=false") {
			t.Errorf("%v: STARTTLS is off by default", tc.args)
		}
		store, err := sqlite.Open(context.Background(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		_, err = o.smtp.sender(store.Messaging(), store.Contacts(), nil)
		store.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: sender error %v, want one about %s", tc.args, err, tc.want)
		}
	}
}

// TestOptionsRefused: flags that make no sense together, or out of range,
// are refused by name rather than silently ignored.
func TestOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-config", "sites.json", "-origins", "https://www.chu-exemple.fr"}, "-origins"},
		{[]string{"-config", "sites.json", "-release-delay", "720h"}, "-release-delay"},
		{[]string{"-release-delay", "-1h"}, "-release-delay"},
		{[]string{"-messages-per-minute", "-1"}, "-messages-per-minute"},
		{[]string{"-uploads-per-hour", "-1"}, "-uploads-per-hour"},
		{[]string{"-writes-per-address-per-minute", "-1"}, "-writes-per-address-per-minute"},
		{[]string{"extra"}, "extra"},
	} {
		if _, err := parseOptions(tc.args, false, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want a refusal naming %s", tc.args, err, tc.want)
		}
	}
	if _, err := parseOptions([]string{"-release-delay", "720h"}, false, io.Discard); err != nil {
		t.Errorf("-release-delay alone: %v", err)
	}
}
