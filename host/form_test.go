package host_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// formPage is a widget document as a browser without the Wasm sees it.
type formPage struct {
	t      *testing.T
	body   string
	action string
	state  string
}

var (
	formAction = regexp.MustCompile(`<form class="pc-form" method="post" action="([^"]*)"`)
	formState  = regexp.MustCompile(`<input type="hidden" name="state" value="([^"]*)"`)
)

func parseForm(t *testing.T, body string) *formPage {
	t.Helper()
	a, s := formAction.FindStringSubmatch(body), formState.FindStringSubmatch(body)
	if a == nil || s == nil {
		t.Fatalf("no widget form in:\n%s", body)
	}
	return &formPage{t: t, body: body, action: html.UnescapeString(a[1]), state: html.UnescapeString(s[1])}
}

// buttons lists the values of the submit buttons named a.
func (p *formPage) buttons(prefix string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<button type="submit" name="a"[^>]* value="([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
		if v := html.UnescapeString(m[1]); strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

type formClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (c *formClient) get(path string) *formPage {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		c.t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
	}
	return parseForm(c.t, string(b))
}

// post presses the button whose value is action on page p.
func (c *formClient) post(p *formPage, action string, extra ...string) *formPage {
	c.t.Helper()
	v := url.Values{"state": {p.state}, "a": {action}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	resp, err := c.hc.PostForm(c.base+p.action, v)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		c.t.Fatalf("POST %s a=%s: %d\n%s", p.action, action, resp.StatusCode, b)
	}
	return parseForm(c.t, string(b))
}

func (p *formPage) want(parts ...string) {
	p.t.Helper()
	for _, s := range parts {
		if !strings.Contains(p.body, s) {
			p.t.Errorf("page lacks %q", s)
		}
	}
}

// TestWidgetWithoutWasm books and cancels with form posts only: the widget
// works before its Wasm arrives, and where WebAssembly is blocked.
func TestWidgetWithoutWasm(t *testing.T) {
	th := newTestHost(t)
	jar, _ := cookiejar.New(nil)
	c := &formClient{t: t, base: th.URL, hc: &http.Client{Jar: jar}}

	p := c.get("/w/booking?establishment=chu-exemple&service=maternite&lang=fr&parent=" + url.QueryEscape(pageOrigin))
	p.want(`data-step="slots"`, "Maternité")
	slots := p.buttons("choose-slot:")
	if len(slots) == 0 {
		t.Fatal("no slot button")
	}
	slotID := strings.TrimPrefix(slots[0], "choose-slot:")

	// Another day, then the practitioner filter (select + apply button).
	days := p.buttons("choose-day:")
	if len(days) < 2 || days[1] != "choose-day:2026-11-24" {
		t.Fatalf("day buttons %q: a day is named by its date", days)
	}
	p = c.post(p, days[1])
	p.want(`aria-pressed="true" value="choose-day:2026-11-24">mar. 24 nov.`)
	p = c.post(p, "choose-practitioner", "practitioner", "pr-claire-martin")
	p.want(`<option selected="selected" value="pr-claire-martin">`)
	for _, b := range p.buttons("choose-slot:") {
		if !strings.Contains(b, "claire-martin") {
			t.Fatalf("slot %s shown with the filter on Claire Martin", b)
		}
	}
	slotID = strings.TrimPrefix(p.buttons("choose-slot:")[0], "choose-slot:")

	p = c.post(p, "choose-slot:"+slotID)
	p.want(`data-step="confirm"`, "Vérifiez votre rendez-vous", "Connexion de démonstration")
	p = c.post(p, "sign-in", "demo", sqlite.DemoPatientLucasBernard)
	p.want("Connecté(e) : Lucas BERNARD", `value="confirm"`)

	confirmPage := p
	p = c.post(p, "confirm")
	p.want(`data-step="done"`, "Rendez-vous confirmé", `<script type="application/json" id="parcours-events">[{"name":"parcours:booked"`)
	// Pressing "confirm" again (a resubmitted form) books nothing more.
	again := c.post(confirmPage, "confirm")
	again.want("Rendez-vous confirmé")
	lucas := portaltest.AsPatient(th.Store, sqlite.DemoPatientLucasBernard)
	list, err := lucas.Appointments(t.Context())
	if err != nil || len(list) != 1 || list[0].Slot != slotID || list[0].Status != portal.StatusBooked {
		t.Fatalf("appointments %+v, %v; want one on %s", list, err, slotID)
	}
	apt := list[0].ID

	p = c.post(p, "show-mine")
	p.want(`data-step="mine"`, `data-appointment="`+apt+`"`)
	p = c.post(p, "ask-cancel:"+apt)
	p.want("Voulez-vous vraiment annuler ce rendez-vous ?")
	p = c.post(p, "cancel:"+apt)
	p.want(`data-status="cancelled"`, `"name":"parcours:cancelled"`)
	if a, err := lucas.Appointment(t.Context(), apt); err != nil || a.Status != portal.StatusCancelled {
		t.Fatalf("after cancel: %+v, %v", a, err)
	}
}

// TestWidgetFormRefusals: posts from another origin are refused, a tampered
// state starts over, and another patient's appointment cannot be cancelled.
func TestWidgetFormRefusals(t *testing.T) {
	th := newTestHost(t)
	jar, _ := cookiejar.New(nil)
	c := &formClient{t: t, base: th.URL, hc: &http.Client{Jar: jar}}
	p := c.get("/w/booking?establishment=chu-exemple&service=maternite&lang=fr")

	req, _ := http.NewRequest("POST", th.URL+p.action, strings.NewReader(url.Values{"state": {p.state}, "a": {"show-mine"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin form post: %d, want 403", resp.StatusCode)
	}

	tampered := &formPage{t: t, action: p.action, state: `{"st":"confirm","sl":"x","k":"bad key with spaces"}`}
	c.post(tampered, "confirm").want(`data-step="slots"`)

	lucas := th.signedIn(t, sqlite.DemoPatientLucasBernard)
	slot := freeSlot(t, th, sqlite.ServiceMaternite, 0)
	apt, err := lucas.Book(t.Context(), portal.BookRequest{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: slot.ID, IdempotencyKey: "lucas-form-0001"})
	if err != nil {
		t.Fatal(err)
	}
	p = c.post(p, "sign-in", "demo", sqlite.DemoPatientCamilleDurand)
	p = c.post(p, "show-mine")
	p = c.post(p, "cancel:"+apt.ID)
	p.want(`role="alert"`, html.EscapeString(portal.ErrNotFound.Message("fr")))
	if a, err := lucas.Appointment(t.Context(), apt.ID); err != nil || a.Status != portal.StatusBooked {
		t.Fatalf("another patient's appointment: %+v, %v", a, err)
	}
}
