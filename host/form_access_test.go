package host

import (
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/access"
)

// accessURL is the access widget's document on the demo establishment.
var accessURL = "/w/access?establishment=" + sqlite.DemoEstablishment + "&lang=fr&parent=" + url.QueryEscape(testPageOrigin)

// accessHost serves the access widget on the demo store, with a browser
// signed in as Lucas.
func accessHost(t *testing.T) (*formBrowser, *sqlite.Store) {
	t.Helper()
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	cfg.Messaging, cfg.CareTeam, cfg.Documents, cfg.DemoSignIn = store.Messaging(), store, store.Documents(), true
	cfg.Consents, cfg.Audit, cfg.Practitioners = store, store, store
	return signedInBrowser(t, cfg, sqlite.DemoPatientLucasBernard), store
}

// accessHydrates checks that the Wasm, starting from doc's state, renders
// doc node for node.
func accessHydrates(t *testing.T, doc string) {
	t.Helper()
	m := access.NewModel("fr", sqlite.DemoEstablishment)
	m.Hydrate(stateOf[access.Snapshot](t, doc))
	wantHydrationMatches(t, &access.Access{M: m, Action: html.UnescapeString(docAction.FindStringSubmatch(doc)[1])}, doc)
}

// lucasGrants are Lucas's grants in the store.
func lucasGrants(t *testing.T, store *sqlite.Store) []portal.Grant {
	t.Helper()
	gs, err := store.Grants(portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientLucasBernard}))
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

func wantIn(t *testing.T, doc string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(doc, w) {
			t.Fatalf("lacks %q:\n%s", w, firstPaint(t, doc))
		}
	}
}

// TestAccessWithoutWasm gives and takes back access through form posts, as
// before the Wasm runs or where WebAssembly is blocked: a mistyped RPPS
// number refused in the field, the professional found and confirmed, the
// grant made (audited with its id, relayed to the host page), then revoked
// after its confirmation. Each screen is the one the Wasm takes over node
// for node.
func TestAccessWithoutWasm(t *testing.T) {
	b, store := accessHost(t)
	home := b.get(accessURL)
	wantIn(t, home, `name="rpps"`, `<button type="submit" name="a" value="lookup" class="pc-btn pc-primary pc-lookup"`)
	if len(lucasGrants(t, store)) != 0 {
		t.Fatal("Lucas has grants before the test")
	}

	// A mistyped number: refused in the field, kept there, nothing asked.
	typo := b.post(home, "lookup", url.Values{"rpps": {"1000000 9993"}})
	wantIn(t, typo, `data-screen="home"`, `id="pc-rpps-err"`, `aria-invalid="true"`, `value="1000000 9993"`)
	accessHydrates(t, typo)

	// The right one: the professional, to confirm.
	found := b.post(typo, "lookup", url.Values{"rpps": {sqlite.DemoRPPSPaulMercier}})
	wantIn(t, found, `data-screen="confirm-grant"`, "Paul Mercier", "Médecin généraliste", `value="grant"`)
	accessHydrates(t, found)
	if len(lucasGrants(t, store)) != 0 {
		t.Fatal("a look-up granted access")
	}

	granted := b.post(found, "grant", nil)
	gs := lucasGrants(t, store)
	if len(gs) != 1 || gs[0].Practitioner != sqlite.DemoPractitionerPaulMercier || !gs[0].Active() {
		t.Fatalf("grants after the confirmation: %+v", gs)
	}
	g := gs[0]
	wantIn(t, granted, `data-screen="home"`, `data-grant="`+g.ID+`"`, "Accès accordé à Paul Mercier",
		`<script type="application/json" id="parcours-events">[{"name":"parcours:access-granted","detail":{"grant":"`+g.ID+`"}}]`)
	accessHydrates(t, granted)
	events, err := store.AuditEvents(t.Context(), portal.AuditQuery{Patient: sqlite.DemoPatientLucasBernard})
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, e := range events {
		audited = audited || e.Operation == "widget.access.grant" && e.Entity == g.ID && e.Outcome == portal.AuditSuccess && e.Action == portal.AuditCreate
	}
	if !audited {
		t.Errorf("the grant by form post is not audited as a creation, with its id: %+v", events)
	}

	// A revocation is asked, then confirmed.
	ask := b.post(granted, "revoke:"+g.ID, nil)
	wantIn(t, ask, `data-screen="confirm-revoke"`, `value="confirm-revoke:`+g.ID+`"`, "Paul Mercier")
	accessHydrates(t, ask)
	if !lucasGrants(t, store)[0].Active() {
		t.Fatal("asking to revoke revoked")
	}
	revoked := b.post(ask, "confirm-revoke:"+g.ID, nil)
	if lucasGrants(t, store)[0].Active() {
		t.Fatal("the confirmed revocation left the grant active")
	}
	wantIn(t, revoked, `data-screen="home"`, `data-active="false" data-grant="`+g.ID+`"`, "parcours:access-revoked")
	accessHydrates(t, revoked)

	// Cancel goes back, and an unknown grant asks nothing.
	for _, a := range []string{"cancel", "revoke:grant-nobody", "confirm-revoke:" + g.ID} {
		got := b.post(revoked, a, nil)
		if !strings.Contains(got, `data-screen="home"`) || strings.Contains(got, "parcours-events") {
			t.Errorf("%s: not the first screen, or an event:\n%s", a, firstPaint(t, got))
		}
	}
}

// TestAccessFormRefusesWhatThePatientDidNotConfirm: a confirmation whose
// state names another professional than the number's is refused by the
// host (nothing granted); a form drawn for Lucas and posted after Camille
// signed in (another tab) does nothing for her; a grant of another patient
// cannot be revoked; a practitioner's session grants nothing.
func TestAccessFormRefusesWhatThePatientDidNotConfirm(t *testing.T) {
	b, store := accessHost(t)
	home := b.get(accessURL)
	found := b.post(home, "lookup", url.Values{"rpps": {sqlite.DemoRPPSPaulMercier}})

	// The state tampered with: Nathalie Fournier's id, Paul Mercier's number.
	st := html.UnescapeString(docState.FindStringSubmatch(found)[1])
	tampered := strings.Replace(st, sqlite.DemoPractitionerPaulMercier, sqlite.DemoPractitionerNathalieFournier, 1)
	if tampered == st {
		t.Fatalf("no practitioner in the state %s", st)
	}
	got := b.read(b.hc.PostForm(b.srv.URL+html.UnescapeString(docAction.FindStringSubmatch(found)[1]), url.Values{"state": {tampered}, "a": {"grant"}}))
	if gs := lucasGrants(t, store); len(gs) != 0 {
		t.Fatalf("a tampered confirmation granted %+v", gs)
	}
	wantIn(t, got, `data-screen="home"`, `class="pc-error"`, "ne correspond pas à ce numéro RPPS")
	accessHydrates(t, got)

	// Lucas grants; Camille signs in in another tab; Lucas's form is posted.
	granted := b.post(b.post(b.get(accessURL), "lookup", url.Values{"rpps": {sqlite.DemoRPPSPaulMercier}}), "grant", nil)
	g := lucasGrants(t, store)[0]
	stale := b.post(home, "lookup", url.Values{"rpps": {sqlite.DemoRPPSPaulMercier}}) // a confirmation drawn for Lucas
	b.demoSignIn(demoPatientSession, `{"patient":"`+sqlite.DemoPatientCamilleDurand+`"}`)
	camille := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	for _, post := range []struct{ doc, action string }{{stale, "grant"}, {granted, "revoke:" + g.ID}} {
		got := b.post(post.doc, post.action, nil)
		wantIn(t, got, `class="pc-error"`, "Camille")
		if strings.Contains(got, "Lucas") {
			t.Errorf("%s: Lucas's data shown to Camille:\n%s", post.action, firstPaint(t, got))
		}
	}
	if gs, err := store.Grants(camille); err != nil || len(gs) != 0 {
		t.Fatalf("Camille's grants after Lucas's form: %+v %v", gs, err)
	}
	// Camille's own form cannot revoke Lucas's grant.
	mine := b.get(accessURL)
	b.post(mine, "revoke:"+g.ID, nil)
	b.post(mine, "confirm-revoke:"+g.ID, nil)
	if !lucasGrants(t, store)[0].Active() {
		t.Fatal("Camille revoked Lucas's grant")
	}
}

// TestAccessFormSignsInAndPages: without the Wasm, the demo sign-in and the
// sign-out are form posts too, and older pages of the log are shown by
// posts that keep the pages already shown.
func TestAccessFormSignsInAndPages(t *testing.T) {
	b, store := accessHost(t)
	// Lucas's record is read more than a page's worth by his care team.
	nathalie := portal.WithSubject(t.Context(), portal.Subject{Practitioner: sqlite.DemoPractitionerNathalieFournier})
	for i := range access.PageSize + 5 {
		if err := store.RecordAudit(nathalie, portal.AuditEvent{
			Time: testNow.Add(-time.Duration(i+1) * time.Minute), Action: portal.AuditRead, Operation: "getDocument",
			Outcome: portal.AuditSuccess, AgentKind: string(portal.AuthorPractitioner), Agent: sqlite.DemoPractitionerNathalieFournier,
			Patient: sqlite.DemoPatientLucasBernard, Establishment: sqlite.DemoEstablishment, Status: 200,
		}); err != nil {
			t.Fatal(err)
		}
	}
	home := b.get(accessURL)
	if n := strings.Count(home, `class="pc-access-entry"`); n != access.PageSize {
		t.Fatalf("%d entries on the first page, want %d", n, access.PageSize)
	}
	more := b.post(home, "more", nil)
	if n := strings.Count(more, `class="pc-access-entry"`); n <= access.PageSize {
		t.Fatalf("%d entries after more, want more than %d", n, access.PageSize)
	}
	accessHydrates(t, more)
	// The next post (a look-up) keeps the pages shown.
	typo := b.post(more, "lookup", url.Values{"rpps": {"123"}})
	if a, c := strings.Count(typo, `class="pc-access-entry"`), strings.Count(more, `class="pc-access-entry"`); a != c {
		t.Errorf("%d entries after a look-up, %d before", a, c)
	}

	out := b.post(typo, "sign-out", nil)
	wantIn(t, out, `id="pc-demo" name="demo"`, `value="sign-in"`)
	if strings.Contains(out, `class="pc-access-entry"`) || strings.Contains(out, "Connecté(e) : Lucas") {
		t.Fatalf("Lucas's log after the sign-out:\n%s", firstPaint(t, out))
	}
	accessHydrates(t, out)
	in := b.post(out, "sign-in", url.Values{"demo": {sqlite.DemoPatientInesMoreau}})
	wantIn(t, in, "Connecté(e) : Inès MOREAU", `name="rpps"`)
	accessHydrates(t, in)
}
