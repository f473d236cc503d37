package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/access"
)

// CH Nord's directory knows Dr Paul Mercier (sqlite.DemoRPPSPaulMercier)
// under an id of its own, and gives the SQLite store's id of him,
// pr-paul-mercier, to someone else: a cardiologist of CH Nord.
const (
	nordMercier      = "pr-nord-0042"
	nordOtherRPPS    = "10000001007"
	nordOtherMercier = "Hélène Vasseur"
)

// regionalHost is a host serving two establishments on two backends, as
// `parcours serve -config` wires them (host/cmd/parcours/sites.go): CHU
// Exemple on the SQLite store, CH Nord on a FHIR server (the test server,
// with the FHIR demo), each with its own practitioner directory.
type regionalHost struct {
	*testHost
	nord *fhir.Backend
}

func newRegionalHost(t *testing.T) regionalHost {
	t.Helper()
	ctx := context.Background()
	base := fhirtest.Start(t)
	nord, err := fhir.New(fhir.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := nord.SeedDemo(ctx, seedTime); err != nil {
		t.Fatal(err)
	}
	if !portal.ValidRPPS(nordOtherRPPS) {
		t.Fatalf("%s is not an RPPS number", nordOtherRPPS)
	}
	putFHIR(t, base, "Practitioner", fhir.DemoCityDoctor, map[string]any{"active": true,
		"identifier": []any{map[string]any{"system": portal.SystemRPPS, "value": nordOtherRPPS}},
		"name":       []any{map[string]any{"given": []string{"Hélène"}, "family": "Vasseur", "text": nordOtherMercier}}})
	putFHIR(t, base, "Practitioner", nordMercier, map[string]any{"active": true,
		"identifier": []any{map[string]any{"system": portal.SystemRPPS, "value": sqlite.DemoRPPSPaulMercier}},
		"name":       []any{map[string]any{"given": []string{"Paul"}, "family": "Mercier", "text": "Paul Mercier"}}})
	th := newTestHostWith(t, func(cfg *hostConfig) {
		store := cfg.Booking.(*sqlite.Store)
		b, err := multi.New(multi.Config{Establishments: []multi.Establishment{
			{ID: sqlite.DemoEstablishment, Booking: store, Directory: store},
			{ID: fhir.DemoEstablishment, Booking: nord, Directory: nord},
		}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := multi.NewConsents([]multi.ConsentsEstablishment{
			{ID: sqlite.DemoEstablishment, Consents: store, Lookup: store},
			{ID: fhir.DemoEstablishment, Consents: nord, Lookup: nord},
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Booking, cfg.Directory, cfg.Consents, cfg.Practitioners, cfg.Audit = b, b, c, c, store
		cfg.Establishments = append(cfg.Establishments, host.Establishment{ID: fhir.DemoEstablishment, Origins: []string{"https://www.ch-nord.fr"}})
	})
	return regionalHost{testHost: th, nord: nord}
}

// putFHIR writes a resource with its id to the FHIR server.
func putFHIR(t *testing.T, base, typ, id string, r map[string]any) {
	t.Helper()
	r["resourceType"], r["id"] = typ, id
	body, _ := json.Marshal(r)
	req, _ := http.NewRequest("PUT", base+"/"+typ+"/"+id, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s/%s: %d", typ, id, resp.StatusCode)
	}
}

// lookup is GET /api/v1/practitioners/rpps/{rpps} with query q.
func lookup(pat *session, rpps, q string) (reply, portal.Practitioner, client.ErrorBody) {
	r := pat.do("GET", "/api/v1/practitioners/rpps/"+rpps+q, "", "")
	var p portal.Practitioner
	var e client.ErrorBody
	if r.status == 200 {
		json.Unmarshal(r.body, &p)
	} else {
		json.Unmarshal(r.body, &e)
	}
	return r, p, e
}

// TestRPPSLookupPerEstablishment: on a host serving two establishments on
// two backends, the RPPS look-up names the establishment it is for and
// answers the practitioner as that establishment's directory knows them;
// naming none is refused with a message saying why (before: the first
// directory's id, whatever the establishment); an establishment the host
// does not serve is not found.
func TestRPPSLookupPerEstablishment(t *testing.T) {
	th := newRegionalHost(t)
	pat := patientSession(t, th.testHost, sqlite.DemoPatientLucasBernard)
	for _, c := range []struct {
		est, want string
	}{
		{sqlite.DemoEstablishment, sqlite.DemoPractitionerPaulMercier},
		{fhir.DemoEstablishment, nordMercier},
	} {
		r, p, _ := lookup(pat, sqlite.DemoRPPSPaulMercier, "?establishment="+c.est)
		if r.status != 200 || p.ID != c.want || p.Name != "Paul Mercier" || p.RPPS != sqlite.DemoRPPSPaulMercier {
			t.Errorf("look-up in %s: %d %s; want %s", c.est, r.status, r.body, c.want)
		}
	}
	// The same id in CH Nord's directory is someone else.
	if r, p, _ := lookup(pat, nordOtherRPPS, "?establishment="+fhir.DemoEstablishment); r.status != 200 || p.ID != fhir.DemoCityDoctor || p.Name != nordOtherMercier {
		t.Errorf("CH Nord's %s: %d %s", fhir.DemoCityDoctor, r.status, r.body)
	}
	if r, _, _ := lookup(pat, nordOtherRPPS, "?establishment="+sqlite.DemoEstablishment); r.status != 404 {
		t.Errorf("CH Nord's practitioner looked up in CHU Exemple: %d %s, want 404", r.status, r.body)
	}

	r, p, e := lookup(pat, sqlite.DemoRPPSPaulMercier, "")
	if r.status != 400 || e.Error.Code != portal.ErrInvalid || !strings.Contains(e.Error.Message, "établissement") || p.ID != "" {
		t.Errorf("a look-up naming no establishment: %d %s; want 400 invalid_request saying to name the establishment", r.status, r.body)
	}
	r, _, e = lookup(pat, sqlite.DemoRPPSPaulMercier, "?lang=en")
	if r.status != 400 || !strings.Contains(e.Error.Message, "Name the establishment") {
		t.Errorf("the refusal in English: %d %s", r.status, r.body)
	}
	for q, want := range map[string]int{
		"?establishment=chu-autre":                                    404,
		"?establishment=":                                             400,
		"?establishment=chu-exemple&establishment=ch-nord":            400,
		"?establishment=" + fhir.DemoEstablishment + "&service=x":     400,
		"?establishment=" + fhir.DemoEstablishment + "&lang=fr":       200,
		"?lang=fr&establishment=" + sqlite.DemoEstablishment:          200,
		"?establishment=" + fhir.DemoEstablishment + "&rpps=10000009": 400,
	} {
		if r, _, _ := lookup(pat, sqlite.DemoRPPSPaulMercier, q); r.status != want {
			t.Errorf("%s: %d %s, want %d", q, r.status, r.body, want)
		}
	}

	// The SDK: PractitionerByRPPSIn names the establishment;
	// PractitionerByRPPS, naming none, is refused here.
	c := th.signedIn(t, sqlite.DemoPatientLucasBernard)
	if p, err := c.PractitionerByRPPSIn(context.Background(), fhir.DemoEstablishment, sqlite.DemoRPPSPaulMercier); err != nil || p.ID != nordMercier {
		t.Errorf("client, CH Nord: %+v, %v", p, err)
	}
	if _, err := c.PractitionerByRPPS(context.Background(), sqlite.DemoRPPSPaulMercier); !portal.IsCode(err, portal.ErrInvalid) {
		t.Errorf("client, no establishment: %v, want invalid_request", err)
	}
}

// TestRPPSLookupOneDirectory: a host serving one establishment, or two
// on one SQLite store (one directory, whose ids both share), answers the
// look-up without the parameter, as before, and with it when it names an
// establishment it serves; another is not found.
func TestRPPSLookupOneDirectory(t *testing.T) {
	for name, more := range map[string][]host.Establishment{"one establishment": nil, "two on one store": {{ID: "chu-annexe"}}} {
		t.Run(name, func(t *testing.T) {
			th := newTestHostWith(t, func(cfg *hostConfig) {
				store := cfg.Booking.(*sqlite.Store)
				cfg.Consents, cfg.Practitioners = store, store
				cfg.Establishments = append(cfg.Establishments, more...)
			})
			pat := patientSession(t, th, sqlite.DemoPatientLucasBernard)
			for q, want := range map[string]int{"": 200, "?establishment=" + sqlite.DemoEstablishment: 200, "?establishment=" + fhir.DemoEstablishment: 404} {
				r, p, _ := lookup(pat, sqlite.DemoRPPSPaulMercier, q)
				if r.status != want || (want == 200 && p.ID != sqlite.DemoPractitionerPaulMercier) {
					t.Errorf("%q: %d %s, want %d", q, r.status, r.body, want)
				}
			}
		})
	}
}

// TestMergedAccessWidgetGrantsInTheChosenEstablishment: the access widget
// without an establishment, on a host serving two, through the SDK over
// HTTP as in the browser: the patient must choose the establishment before
// the look-up; having chosen CH Nord, the grant lands in CH Nord's record
// (its FHIR server's Consent) and names CH Nord's id of the doctor, never
// the SQLite store's pr-paul-mercier (in CH Nord, someone else). Before:
// the look-up answered the store's id and the grant went through the first
// establishment, CHU Exemple.
func TestMergedAccessWidgetGrantsInTheChosenEstablishment(t *testing.T) {
	th := newRegionalHost(t)
	ctx := context.Background()

	// The first paint, from the host, asks to choose (none chosen in
	// advance), and hands the browser the establishments to choose from.
	pat := patientSession(t, th.testHost, sqlite.DemoPatientLucasBernard)
	doc := string(pat.mustStatus(pat.do("GET", "/w/access?lang=fr", "", ""), 200).body)
	for _, w := range []string{`<label for="pc-est">Établissement</label>`, `<select id="pc-est" name="est" class="pc-select" aria-describedby="pc-est-help"`,
		`<option selected="selected" value="">Choisissez un établissement</option>`,
		`<option value="` + sqlite.DemoEstablishment + `">CHU Exemple</option>`, `<option value="` + fhir.DemoEstablishment + `">Centre hospitalier Nord</option>`} {
		if !strings.Contains(doc, w) {
			t.Fatalf("the merged widget's first paint lacks %q:\n%s", w, doc)
		}
	}
	state := regexp.MustCompile(`<script type="application/json" id="parcours-state">([^<]*)</script>`).FindStringSubmatch(doc)
	var snap access.Snapshot
	if state == nil || json.Unmarshal([]byte(html.UnescapeString(state[1])), &snap) != nil {
		t.Fatalf("no state in the first paint:\n%s", doc)
	}
	if hydrated := access.NewModel("fr", ""); func() bool { hydrated.Hydrate(&snap); return !hydrated.Choosing() }() {
		t.Fatalf("the browser's model, from the first paint's state, does not ask to choose: %+v", snap.Establishments)
	}

	b := th.signedIn(t, sqlite.DemoPatientLucasBernard)
	m := access.NewModel("fr", "")
	run := func(a access.Action) {
		t.Helper()
		for cmd := m.Apply(a); cmd != nil; {
			cmd = m.Apply(cmd(ctx, b))
		}
		if m.Err != "" {
			t.Fatalf("after %s: %s %s", a.Kind, m.Err, m.ErrText)
		}
	}
	run(access.Action{Kind: access.Start})
	if m.Patient == nil || len(m.Establishments) != 2 || !m.Choosing() {
		t.Fatalf("patient %v, establishments %+v: want Lucas and both establishments to choose from", m.Patient, m.Establishments)
	}

	run(access.Action{Kind: access.TypeRPPS, Value: sqlite.DemoRPPSPaulMercier})
	run(access.Action{Kind: access.Lookup})
	if m.ChoiceErr == "" || m.Found != nil || m.Screen != access.ScreenHome {
		t.Fatalf("a look-up before choosing: choice error %q, found %+v, screen %s", m.ChoiceErr, m.Found, m.Screen)
	}
	// CH Nord's other practitioner is unknown to CHU Exemple's directory.
	run(access.Action{Kind: access.ChooseEst, Value: sqlite.DemoEstablishment})
	run(access.Action{Kind: access.TypeRPPS, Value: nordOtherRPPS})
	run(access.Action{Kind: access.Lookup})
	if m.Found != nil || m.RPPSErr != "Aucun professionnel ne correspond à ce numéro RPPS dans l’annuaire de CHU Exemple." {
		t.Fatalf("CH Nord's practitioner looked up in CHU Exemple: found %+v, field error %q", m.Found, m.RPPSErr)
	}
	run(access.Action{Kind: access.TypeRPPS, Value: sqlite.DemoRPPSPaulMercier})
	run(access.Action{Kind: access.ChooseEst, Value: fhir.DemoEstablishment})
	run(access.Action{Kind: access.Lookup})
	if m.Screen != access.ScreenConfirmGrant || m.Found == nil || m.Found.ID != nordMercier || m.FoundIn != fhir.DemoEstablishment {
		t.Fatalf("look-up in CH Nord: screen %s, found %+v in %q", m.Screen, m.Found, m.FoundIn)
	}
	if effect := (&access.Access{M: m}).GrantEffect(); !strings.HasSuffix(effect, "via : Centre hospitalier Nord.") {
		t.Errorf("the confirmation says %q: want the establishment granted through", effect)
	}
	run(access.Action{Kind: access.Grant})
	if len(m.Events) != 1 || m.Events[0].Name != "parcours:access-granted" {
		t.Fatalf("events %+v", m.Events)
	}
	id := m.Events[0].Grant

	lucas := portal.WithSubject(ctx, portal.Subject{Patient: sqlite.DemoPatientLucasBernard})
	nordGrants, err := th.nord.Grants(lucas)
	if err != nil {
		t.Fatal(err)
	}
	if len(nordGrants) != 1 || nordGrants[0].Practitioner != nordMercier || nordGrants[0].Establishment != fhir.DemoEstablishment || !nordGrants[0].Active() ||
		id != fhir.DemoEstablishment+multi.Separator+nordGrants[0].ID {
		t.Errorf("CH Nord's grants %+v (the widget's grant %s): want one, of %s", nordGrants, id, nordMercier)
	}
	storeGrants, err := th.Store.Grants(lucas)
	if err != nil {
		t.Fatal(err)
	}
	if len(storeGrants) != 0 {
		t.Errorf("CHU Exemple's store has grants %+v: the grant went to the wrong record", storeGrants)
	}
	list, err := b.Grants(ctx)
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].PractitionerName != "Paul Mercier" {
		t.Errorf("GET /api/v1/grants: %+v, %v", list, err)
	}
	if fmt.Sprint(m.Grants) != fmt.Sprint(list) {
		t.Errorf("the widget shows %+v, the host lists %+v", m.Grants, list)
	}
	// The grant says whose record it opens.
	c := &access.Access{M: m}
	if text, label := c.GrantText(list[0]), c.RevokeLabel(list[0]); !strings.HasSuffix(text, "(Centre hospitalier Nord)") || label != "Retirer l’accès de Paul Mercier (Centre hospitalier Nord)" {
		t.Errorf("the grant shows %q, its revoke button %q", text, label)
	}
}

// TestGrantNamingTheRPPSIsChecked: a grant through an establishment that
// names the RPPS number the practitioner was looked up by is given only if
// that establishment's directory answers that id for that number; an id
// from another establishment's directory (here, in CH Nord, someone else)
// is refused and nothing is granted anywhere. Before, the host took any id
// the establishment's backend knew.
func TestGrantNamingTheRPPSIsChecked(t *testing.T) {
	th := newRegionalHost(t)
	pat := patientSession(t, th.testHost, sqlite.DemoPatientLucasBernard)
	nordGrants := "/api/v1/establishments/" + fhir.DemoEstablishment + "/grants"
	for _, c := range []struct {
		name, body string
		status     int
		code       portal.ErrorCode
	}{
		{"CHU Exemple's id in CH Nord", `{"practitioner":"` + sqlite.DemoPractitionerPaulMercier + `","rpps":"` + sqlite.DemoRPPSPaulMercier + `"}`, 400, portal.ErrInvalid},
		{"a malformed number", `{"practitioner":"` + nordMercier + `","rpps":"10000009993"}`, 400, portal.ErrInvalid},
		{"a number CH Nord does not know", `{"practitioner":"` + nordMercier + `","rpps":"10000000009"}`, 404, portal.ErrNotFound},
		// An id alone could be any directory's: refused where they differ.
		{"an id without its number", `{"practitioner":"` + nordMercier + `"}`, 400, portal.ErrInvalid},
		{"another's id without its number", `{"practitioner":"` + sqlite.DemoPractitionerPaulMercier + `"}`, 400, portal.ErrInvalid},
	} {
		r := pat.do("POST", nordGrants, "application/json", c.body)
		var e client.ErrorBody
		json.Unmarshal(r.body, &e)
		if r.status != c.status || e.Error.Code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
		}
	}
	r := pat.do("POST", nordGrants, "application/json", `{"practitioner":"`+sqlite.DemoPractitionerPaulMercier+`","rpps":"`+sqlite.DemoRPPSPaulMercier+`"}`)
	if !strings.Contains(string(r.body), "recherchez-le à nouveau") {
		t.Errorf("the refusal does not say what to do: %s", r.body)
	}
	lucas := portal.WithSubject(context.Background(), portal.Subject{Patient: sqlite.DemoPatientLucasBernard})
	if list, err := th.nord.Grants(lucas); err != nil || len(list) != 0 {
		t.Fatalf("CH Nord's grants after the refusals: %+v, %v", list, err)
	}
	if list, err := th.Store.Grants(lucas); err != nil || len(list) != 0 {
		t.Fatalf("CHU Exemple's grants after the refusals: %+v, %v", list, err)
	}

	// CH Nord's own id for that number is granted, in CH Nord.
	var g portal.Grant
	json.Unmarshal(pat.mustStatus(pat.do("POST", nordGrants, "application/json", `{"practitioner":"`+nordMercier+`","rpps":"`+sqlite.DemoRPPSPaulMercier+`"}`), 201).body, &g)
	if g.Practitioner != nordMercier || g.Establishment != fhir.DemoEstablishment {
		t.Errorf("grant %+v", g)
	}
	// The SDK sends the number.
	c := th.signedIn(t, sqlite.DemoPatientLucasBernard)
	if _, err := c.GrantAccessByRPPS(context.Background(), sqlite.DemoEstablishment, nordMercier, sqlite.DemoRPPSPaulMercier); !portal.IsCode(err, portal.ErrInvalid) {
		t.Errorf("client, CH Nord's id in CHU Exemple: %v, want invalid_request", err)
	}
	if g, err := c.GrantAccessByRPPS(context.Background(), sqlite.DemoEstablishment, sqlite.DemoPractitionerPaulMercier, sqlite.DemoRPPSPaulMercier); err != nil || g.Establishment != sqlite.DemoEstablishment {
		t.Errorf("client, CHU Exemple's id in CHU Exemple: %+v, %v", g, err)
	}
}
