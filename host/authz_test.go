package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// The authorization matrix: for every operation of openapi.json, what each
// kind of caller gets, as data. A route added later without a row fails
// TestAuthorizationMatrix.

// azRole is who calls, relative to the owner of the row's resource.
type azRole string

const (
	azAnonymous    azRole = "anonymous"
	azOwner        azRole = "owner"         // the patient whose resource it is
	azOtherPatient azRole = "other patient" // another patient, with data of their own
	azUnlinked     azRole = "unlinked patient"
	azPractitioner azRole = "practitioner"  // of the resource's service
	azOutsider     azRole = "outsider"      // a practitioner of another service
	azFresh        azRole = "fresh patient" // a session of its own (sign-out)
)

// azRow is one cell of the matrix.
type azRow struct {
	op    string // operationId
	role  azRole
	owner string // the patient owning the resource ("" for none: public or the caller's own)
	// what names the resource when an operation has several rows for one
	// role (the held biopsy, a document with an image …).
	what        string
	method      string
	path        string
	header      map[string]string
	body        string
	status      int
	code        portal.ErrorCode // for an error status
	contains    []string         // the body must contain each
	notContains []string         // and none of these
	// unknown is the same request on an unknown id: a refusal must answer
	// it byte for byte (status, headers but Date, body).
	unknown string
	// late runs the row after every other: after the reads and refused
	// writes, then the writes that succeed (in table order), come the rows
	// that read what those writes did (the released biopsy).
	late bool
	// bug, when set, is a known authorization bug: the row is skipped,
	// with this description, until the handler is fixed.
	bug string
}

func (r azRow) name() string {
	n := r.op + "/" + string(r.role)
	if r.what != "" {
		n += "/" + r.what
	}
	return n
}

func (r azRow) mutates() bool {
	return r.method != "GET" && r.status < 300
}

// azClient sends raw requests with its own session cookie.
type azClient struct {
	t   *testing.T
	url string
	hc  *http.Client
}

func newAZClient(t *testing.T, th *testHost) *azClient {
	jar, _ := cookiejar.New(nil)
	return &azClient{t: t, url: th.URL, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

func (c *azClient) do(method, path string, header map[string]string, body string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c *azClient) signIn(path, field, id string) *azClient {
	c.t.Helper()
	if r := c.do("POST", path, nil, fmt.Sprintf(`{%q:%q}`, field, id)); r.status != 200 {
		c.t.Fatalf("sign-in as %s: %d %s", id, r.status, r.body)
	}
	return c
}

func (c *azClient) must(r reply, want int) []byte {
	c.t.Helper()
	if r.status != want {
		c.t.Fatalf("setup: status %d, want %d: %s", r.status, want, r.body)
	}
	return r.body
}

// unknownLike returns an id of id's shape (same length and alphabet) that
// names nothing: its tail reversed, or its last character replaced.
func unknownLike(id string) string {
	i := strings.LastIndexAny(id, "-_") + 1
	tail := []rune(id[i:])
	slices.Reverse(tail)
	if string(tail) == id[i:] || len(tail) < 2 {
		last := tail[len(tail)-1]
		for _, c := range id {
			if c != last && c != '-' && c != '_' {
				tail[len(tail)-1] = c
				break
			}
		}
	}
	return id[:i] + string(tail)
}

// azState is everything a refused write could change.
type azState struct {
	Booking       state
	Threads       map[string][]portal.Thread
	Conversation  portal.Conversation
	Inbox         []portal.Thread
	Documents     map[string][]portal.Document
	HeldDocuments []portal.Document
	Draft         string
	Grants        map[string][]portal.Grant
}

func azSnapshot(t *testing.T, th *testHost) azState {
	t.Helper()
	ctx := context.Background()
	s := azState{Booking: snapshot(t, th), Threads: map[string][]portal.Thread{}, Documents: map[string][]portal.Document{}, Grants: map[string][]portal.Grant{}}
	m := th.Store.Messaging()
	d := th.Store.Documents()
	var err error
	for _, p := range []string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientLucasBernard, sqlite.DemoPatientInesMoreau} {
		if s.Threads[p], err = portaltest.AsPatientMessaging(m, p).Threads(ctx, sqlite.DemoEstablishment); err != nil {
			t.Fatal(err)
		}
		if s.Documents[p], err = portaltest.AsPatientDocuments(d, p).Documents(ctx, sqlite.DemoEstablishment, portal.DocumentFilter{}); err != nil {
			t.Fatal(err)
		}
		if s.Grants[p], err = portaltest.AsPatientConsents(th.Store, p).Grants(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s.Conversation, err = portaltest.AsPatientMessaging(m, sqlite.DemoPatientCamilleDurand).Thread(ctx, sqlite.DemoThreadMaternite); err != nil {
		t.Fatal(err)
	}
	if s.Inbox, err = portaltest.AsPractitionerMessaging(m, sqlite.DemoPractitionerClaireMartin).Inbox(ctx, sqlite.DemoEstablishment, portal.InboxFilter{}); err != nil {
		t.Fatal(err)
	}
	if s.HeldDocuments, err = portaltest.AsPractitionerDocuments(d, sqlite.DemoPractitionerNathalieFournier).Documents(ctx, sqlite.DemoEstablishment, portal.DocumentFilter{Held: true}); err != nil {
		t.Fatal(err)
	}
	draft, err := portaltest.AsPatientQuestionnaires(th.Store, sqlite.DemoPatientCamilleDurand).Draft(ctx, sqlite.DemoEstablishment, sqlite.DemoQuestionnairePHQ9)
	if err != nil && !portal.IsCode(err, portal.ErrNotFound) {
		t.Fatal(err)
	}
	s.Draft = fmt.Sprintf("%+v", draft)
	return s
}

// azOperations returns the operationIds of openapi.json.
func azOperations(t *testing.T) map[string]string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(host.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	ops := map[string]string{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if !slices.Contains([]string{"get", "put", "post", "delete", "patch"}, method) {
				continue
			}
			var op struct {
				OperationID string `json:"operationId"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			ops[op.OperationID] = strings.ToUpper(method) + " " + path
		}
	}
	return ops
}

// TestAuthorizationMatrix runs every route of the API as every kind of
// caller: anonymous, the owner patient, another patient, a practitioner of
// the resource's service and one of another service. Another person's
// resource answers byte for byte as an unknown id; a refused write changes
// nothing.
func TestAuthorizationMatrix(t *testing.T) {
	th := newTestHostWith(t, func(cfg *hostConfig) {
		store := cfg.Booking.(*sqlite.Store)
		cfg.Questionnaires = store
		cfg.CareTeam = store
		cfg.Messaging = store.Messaging()
		cfg.Documents = store.Documents()
		cfg.Consents = store
		cfg.Practitioners = store
		cfg.MessagesPerMinute = 1 << 20
		cfg.UploadsPerHour = 1 << 20
		cfg.WritesPerAddressPerMinute = 1 << 20
		cfg.Audit = store
	})
	const (
		camille = sqlite.DemoPatientCamilleDurand
		lucas   = sqlite.DemoPatientLucasBernard
		ines    = sqlite.DemoPatientInesMoreau
		claire  = sqlite.DemoPractitionerClaireMartin // maternity
		julien  = "pr-julien-roux"                    // diabetology
		est     = "/api/v1/establishments/" + sqlite.DemoEstablishment
	)
	patients := map[string]*azClient{}
	patient := func(p string) *azClient {
		if patients[p] == nil {
			patients[p] = newAZClient(t, th).signIn("/api/v1/demo/session", "patient", p)
		}
		return patients[p]
	}
	practitioners := map[string]*azClient{}
	practitioner := func(p string) *azClient {
		if practitioners[p] == nil {
			practitioners[p] = newAZClient(t, th).signIn("/api/v1/demo/practitioner-session", "practitioner", p)
		}
		return practitioners[p]
	}
	anonymous := newAZClient(t, th)
	other := map[string]string{camille: lucas, lucas: camille}
	// The services of the owners' resources: Camille's are the maternity's
	// (Claire Martin), Lucas's diabetology's (Julien Roux, who may release
	// his biopsy).
	inService := map[string]string{camille: claire, lucas: julien}
	outService := map[string]string{camille: julien, lucas: claire}
	caller := func(t *testing.T, r azRow) *azClient {
		switch r.role {
		case azAnonymous:
			return anonymous
		case azOwner:
			return patient(r.owner)
		case azOtherPatient:
			return patient(other[r.owner])
		case azUnlinked:
			return patient(ines)
		case azPractitioner:
			return practitioner(inService[r.owner])
		case azOutsider:
			return practitioner(outService[r.owner])
		case azFresh:
			return newAZClient(t, th).signIn("/api/v1/demo/session", "patient", ines)
		}
		t.Fatalf("role %q", r.role)
		return nil
	}

	// Fixtures, made through the API as their owners.
	slot := freeSlot(t, th, sqlite.ServiceMaternite, 0)
	var apt portal.Appointment
	json.Unmarshal(patient(camille).must(patient(camille).do("POST", est+"/appointments", map[string]string{"Idempotency-Key": "authz-booking-0001"},
		fmt.Sprintf(`{"service":%q,"slot":%q}`, sqlite.ServiceMaternite, slot.ID)), 201), &apt)
	bookSlot := freeSlot(t, th, sqlite.ServiceMaternite, 1)

	phq9 := instrument(t, "phq-9")
	phq9Body := string(responseJSON(t, phq9, weighing(t, phq9, nil)))
	var sub portal.QuestionnaireSubmission
	json.Unmarshal(patient(camille).must(patient(camille).do("POST", est+"/questionnaires/"+sqlite.DemoQuestionnairePHQ9+"/responses", fhirPost("authz-submit-0001"), phq9Body), 201), &sub)

	sendBody := func(clientID string, atts ...client.AttachmentBody) string {
		b, _ := json.Marshal(client.SendBody{ClientID: clientID, Body: "Bonjour, voici le document.", Attachments: atts})
		return string(b)
	}
	var msg portal.Message
	json.Unmarshal(patient(camille).must(patient(camille).do("POST", "/api/v1/threads/"+sqlite.DemoThreadMaternite+"/messages", nil,
		sendBody("authz-message-0001", client.AttachmentBody{Name: "bilan.pdf", ContentType: "application/pdf", Data: testPDF})), 201), &msg)
	if len(msg.Attachments) != 1 {
		t.Fatalf("setup message: %+v", msg)
	}
	att := msg.Attachments[0].ID

	var ultrasound portal.Document
	json.Unmarshal(patient(camille).must(patient(camille).do("GET", "/api/v1/documents/"+sqlite.DemoDocumentUltrasound, nil, ""), 200), &ultrasound)
	if len(ultrasound.Images) != 1 {
		t.Fatalf("the ultrasound's images: %+v", ultrasound.Images)
	}
	img := ultrasound.Images[0].ID

	// Camille Durand grants Nathalie Fournier (diabetology), who calls no
	// row, access: no other row's answer changes.
	var grant portal.Grant
	json.Unmarshal(patient(camille).must(patient(camille).do("POST", est+"/grants", nil,
		`{"practitioner":"`+sqlite.DemoPractitionerNathalieFournier+`"}`), 201), &grant)

	var (
		aptPath   = "/api/v1/appointments/" + apt.ID
		aptUnk    = "/api/v1/appointments/" + unknownLike(apt.ID)
		subPath   = "/api/v1/questionnaire-responses/" + sub.ID
		subUnk    = "/api/v1/questionnaire-responses/" + unknownLike(sub.ID)
		thrPath   = "/api/v1/threads/" + sqlite.DemoThreadMaternite
		thrUnk    = "/api/v1/threads/" + unknownLike(sqlite.DemoThreadMaternite)
		attPath   = "/api/v1/messages/" + msg.ID + "/attachments/" + att
		attUnk    = "/api/v1/messages/" + unknownLike(msg.ID) + "/attachments/" + att
		attUnk2   = "/api/v1/messages/" + msg.ID + "/attachments/" + unknownLike(att)
		lab       = fmt.Sprintf("doc-demo-bilan-%02d", sqlite.DemoLabReports)
		labPath   = "/api/v1/documents/" + lab
		labUnk    = "/api/v1/documents/" + unknownLike(lab)
		bioPath   = "/api/v1/documents/" + sqlite.DemoDocumentBiopsy
		bioUnk    = "/api/v1/documents/" + unknownLike(sqlite.DemoDocumentBiopsy)
		imgPath   = "/api/v1/documents/" + sqlite.DemoDocumentUltrasound + "/images/" + img
		imgUnk    = "/api/v1/documents/" + unknownLike(sqlite.DemoDocumentUltrasound) + "/images/" + img
		imgUnk2   = "/api/v1/documents/" + sqlite.DemoDocumentUltrasound + "/images/" + unknownLike(img)
		draftPath = est + "/questionnaires/" + sqlite.DemoQuestionnairePHQ9 + "/draft"
		respPath  = est + "/questionnaires/" + sqlite.DemoQuestionnairePHQ9 + "/responses"
		trendPath = est + "/analytes/" + sqlite.LOINCHbA1c + "/trend"
		trendUnk  = est + "/analytes/" + "99999-9" + "/trend"
		slotsPath = est + "/slots?service=" + sqlite.ServiceMaternite
		bookBody  = fmt.Sprintf(`{"service":%q,"slot":%q}`, sqlite.ServiceMaternite, bookSlot.ID)
		threadNew = func(service, id string) string {
			b, _ := json.Marshal(client.StartThreadBody{Service: service, Subject: "Question", Body: "Bonjour, une question.", ClientID: id})
			return string(b)
		}
		uploadLucas = uploadJSON(sqlite.ServiceDiabetologie, "authz-upload-0001", "ordonnance.pdf", "application/pdf", testPDF)
		uploadInes  = uploadJSON(sqlite.ServiceDiabetologie, "authz-upload-0002", "ordonnance.pdf", "application/pdf", testPDF)
		idem        = func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }
		verifier    = strings.Repeat("v", 43)
		grantPath   = "/api/v1/grants/" + grant.ID + "/revoke"
		grantUnk    = "/api/v1/grants/" + unknownLike(grant.ID) + "/revoke"
		grantBody   = `{"practitioner":"` + sqlite.DemoPractitionerNathalieFournier + `"}`
		rppsPath    = "/api/v1/practitioners/rpps/" + sqlite.DemoRPPSPaulMercier
	)
	const (
		unauth    = portal.ErrUnauthenticated
		notFound  = portal.ErrNotFound
		forbidden = portal.ErrForbidden
	)

	rows := []azRow{
		// Public operations: anyone, signed in or not.
		{op: "getOpenAPI", role: azAnonymous, method: "GET", path: "/api/v1/openapi.json", status: 200, contains: []string{`"openapi"`}},
		{op: "listEstablishments", role: azAnonymous, method: "GET", path: "/api/v1/establishments", status: 200, contains: []string{sqlite.DemoEstablishment}},
		{op: "getEstablishment", role: azAnonymous, method: "GET", path: est, status: 200, contains: []string{sqlite.DemoEstablishment}},
		{op: "listServices", role: azAnonymous, method: "GET", path: est + "/services", status: 200, contains: []string{sqlite.ServiceMaternite}},
		{op: "listFreeSlots", role: azAnonymous, method: "GET", path: slotsPath, status: 200, contains: []string{bookSlot.ID}, notContains: []string{slot.ID}},
		{op: "listFreeSlots", role: azPractitioner, owner: camille, method: "GET", path: slotsPath, status: 200, contains: []string{bookSlot.ID}},
		{op: "getQuestionnaire", role: azAnonymous, method: "GET", path: est + "/questionnaires/" + sqlite.DemoQuestionnairePHQ9, status: 200, contains: []string{`"Questionnaire"`}},
		{op: "getQuestionnaire", role: azOwner, owner: camille, method: "GET", path: est + "/questionnaires/" + sqlite.DemoQuestionnairePHQ9, status: 200, contains: []string{`"Questionnaire"`}},
		{op: "listDemoPatients", role: azAnonymous, method: "GET", path: "/api/v1/demo/patients", status: 200, contains: []string{camille}},
		{op: "listDemoPractitioners", role: azAnonymous, method: "GET", path: "/api/v1/demo/practitioners", status: 200, contains: []string{claire}},
		{op: "createDemoSession", role: azAnonymous, method: "POST", path: "/api/v1/demo/session", body: `{"patient":"` + ines + `"}`, status: 200, contains: []string{ines}},
		{op: "createDemoPractitionerSession", role: azAnonymous, method: "POST", path: "/api/v1/demo/practitioner-session", body: `{"practitioner":"` + claire + `"}`, status: 200, contains: []string{claire}},
		// Without an identity provider, the handoff knows no verifier.
		{op: "redeemSignIn", role: azAnonymous, method: "POST", path: "/api/v1/session/handoff", body: `{"verifier":"` + verifier + `"}`, status: 404, code: notFound},

		// The session.
		{op: "getSession", role: azAnonymous, method: "GET", path: "/api/v1/session", status: 200, contains: []string{`"patient":null`}, notContains: []string{`"practitioner"`}},
		{op: "getSession", role: azOwner, owner: camille, method: "GET", path: "/api/v1/session", status: 200, contains: []string{camille}},
		{op: "getSession", role: azPractitioner, owner: camille, method: "GET", path: "/api/v1/session", status: 200, contains: []string{`"patient":null`, claire}},
		{op: "getAccessLog", role: azAnonymous, method: "GET", path: "/api/v1/access-log", status: 401, code: unauth},
		{op: "getAccessLog", role: azOwner, owner: camille, method: "GET", path: "/api/v1/access-log", status: 200, contains: []string{`"entries":[`}},
		{op: "getAccessLog", role: azPractitioner, owner: camille, method: "GET", path: "/api/v1/access-log", status: 403, code: forbidden},
		{op: "deleteSession", role: azAnonymous, method: "DELETE", path: "/api/v1/session", status: 204},
		{op: "deleteSession", role: azFresh, method: "DELETE", path: "/api/v1/session", status: 204},

		// Booking: the patient's own appointments.
		{op: "bookAppointment", role: azAnonymous, method: "POST", path: est + "/appointments", header: idem("authz-booking-0002"), body: bookBody, status: 401, code: unauth},
		{op: "bookAppointment", role: azPractitioner, owner: camille, method: "POST", path: est + "/appointments", header: idem("authz-booking-0003"), body: bookBody, status: 403, code: forbidden},
		{op: "bookAppointment", role: azOwner, owner: camille, method: "POST", path: est + "/appointments", header: idem("authz-booking-0004"), body: bookBody, status: 201},
		{op: "listAppointments", role: azAnonymous, method: "GET", path: "/api/v1/appointments", status: 401, code: unauth},
		{op: "listAppointments", role: azOwner, owner: camille, method: "GET", path: "/api/v1/appointments", status: 200, contains: []string{apt.ID}},
		{op: "listAppointments", role: azOtherPatient, owner: camille, method: "GET", path: "/api/v1/appointments", status: 200, notContains: []string{apt.ID}},
		{op: "listAppointments", role: azPractitioner, owner: camille, method: "GET", path: "/api/v1/appointments", status: 403, code: forbidden},
		{op: "getAppointment", role: azAnonymous, method: "GET", path: aptPath, unknown: aptUnk, status: 401, code: unauth},
		{op: "getAppointment", role: azOwner, owner: camille, method: "GET", path: aptPath, status: 200, contains: []string{apt.ID}},
		{op: "getAppointment", role: azOtherPatient, owner: camille, method: "GET", path: aptPath, unknown: aptUnk, status: 404, code: notFound},
		{op: "getAppointment", role: azPractitioner, owner: camille, method: "GET", path: aptPath, unknown: aptUnk, status: 403, code: forbidden},
		{op: "cancelAppointment", role: azAnonymous, method: "POST", path: aptPath + "/cancel", unknown: aptUnk + "/cancel", status: 401, code: unauth},
		{op: "cancelAppointment", role: azOtherPatient, owner: camille, method: "POST", path: aptPath + "/cancel", unknown: aptUnk + "/cancel", status: 404, code: notFound},
		{op: "cancelAppointment", role: azPractitioner, owner: camille, method: "POST", path: aptPath + "/cancel", unknown: aptUnk + "/cancel", status: 403, code: forbidden},
		{op: "cancelAppointment", role: azOwner, owner: camille, method: "POST", path: aptPath + "/cancel", status: 200, contains: []string{apt.ID, "cancelled"}},
		{op: "getAppointmentCalendar", role: azAnonymous, method: "GET", path: aptPath + "/calendar.ics", unknown: aptUnk + "/calendar.ics", status: 401, code: unauth},
		{op: "getAppointmentCalendar", role: azOwner, owner: camille, method: "GET", path: aptPath + "/calendar.ics", status: 200, contains: []string{"BEGIN:VCALENDAR"}},
		{op: "getAppointmentCalendar", role: azOtherPatient, owner: camille, method: "GET", path: aptPath + "/calendar.ics", unknown: aptUnk + "/calendar.ics", status: 404, code: notFound},
		{op: "getAppointmentCalendar", role: azPractitioner, owner: camille, method: "GET", path: aptPath + "/calendar.ics", unknown: aptUnk + "/calendar.ics", status: 403, code: forbidden},

		// Questionnaires: drafts and submissions are the patient's own.
		{op: "getQuestionnaireDraft", role: azAnonymous, method: "GET", path: draftPath, status: 401, code: unauth},
		{op: "getQuestionnaireDraft", role: azOwner, owner: camille, method: "GET", path: draftPath, status: 204},
		{op: "getQuestionnaireDraft", role: azPractitioner, owner: camille, method: "GET", path: draftPath, status: 403, code: forbidden},
		{op: "saveQuestionnaireDraft", role: azAnonymous, method: "PUT", path: draftPath, body: phq9Body, status: 401, code: unauth},
		{op: "saveQuestionnaireDraft", role: azPractitioner, owner: camille, method: "PUT", path: draftPath, body: phq9Body, status: 403, code: forbidden},
		{op: "saveQuestionnaireDraft", role: azOwner, owner: camille, method: "PUT", path: draftPath, body: phq9Body, status: 200},
		{op: "deleteQuestionnaireDraft", role: azAnonymous, method: "DELETE", path: draftPath, status: 401, code: unauth},
		{op: "deleteQuestionnaireDraft", role: azPractitioner, owner: camille, method: "DELETE", path: draftPath, status: 403, code: forbidden},
		{op: "deleteQuestionnaireDraft", role: azOwner, owner: camille, method: "DELETE", path: draftPath, status: 204},
		{op: "submitQuestionnaireResponse", role: azAnonymous, method: "POST", path: respPath, header: fhirPost("authz-submit-0002"), body: phq9Body, status: 401, code: unauth},
		{op: "submitQuestionnaireResponse", role: azPractitioner, owner: camille, method: "POST", path: respPath, header: fhirPost("authz-submit-0003"), body: phq9Body, status: 403, code: forbidden},
		{op: "submitQuestionnaireResponse", role: azOwner, owner: camille, method: "POST", path: respPath, header: fhirPost("authz-submit-0004"), body: phq9Body, status: 201},
		{op: "getQuestionnaireResponse", role: azAnonymous, method: "GET", path: subPath, unknown: subUnk, status: 401, code: unauth},
		{op: "getQuestionnaireResponse", role: azOwner, owner: camille, method: "GET", path: subPath, status: 200, contains: []string{sub.ID}},
		{op: "getQuestionnaireResponse", role: azOtherPatient, owner: camille, method: "GET", path: subPath, unknown: subUnk, status: 404, code: notFound},
		{op: "getQuestionnaireResponse", role: azPractitioner, owner: camille, method: "GET", path: subPath, unknown: subUnk, status: 403, code: forbidden},

		// Messaging: Camille Durand's maternity thread.
		{op: "listThreads", role: azAnonymous, method: "GET", path: est + "/threads", status: 401, code: unauth},
		{op: "listThreads", role: azOwner, owner: camille, method: "GET", path: est + "/threads", status: 200, contains: []string{sqlite.DemoThreadMaternite}},
		{op: "listThreads", role: azOtherPatient, owner: camille, method: "GET", path: est + "/threads", status: 200, notContains: []string{sqlite.DemoThreadMaternite}},
		{op: "listThreads", role: azPractitioner, owner: camille, method: "GET", path: est + "/threads", status: 403, code: forbidden},
		{op: "startThread", role: azAnonymous, method: "POST", path: est + "/threads", body: threadNew(sqlite.ServiceMaternite, "authz-thread-0001"), status: 401, code: unauth},
		{op: "startThread", role: azPractitioner, owner: camille, method: "POST", path: est + "/threads", body: threadNew(sqlite.ServiceMaternite, "authz-thread-0002"), status: 403, code: forbidden},
		{op: "startThread", role: azUnlinked, method: "POST", path: est + "/threads", body: threadNew(sqlite.ServiceMaternite, "authz-thread-0003"), status: 403, code: portal.ErrServiceNotLinked},
		{op: "startThread", role: azOwner, owner: camille, method: "POST", path: est + "/threads", body: threadNew(sqlite.ServiceMaternite, "authz-thread-0004"), status: 201},
		{op: "listInbox", role: azAnonymous, method: "GET", path: est + "/inbox", status: 401, code: unauth},
		{op: "listInbox", role: azOwner, owner: camille, method: "GET", path: est + "/inbox", status: 403, code: forbidden},
		{op: "listInbox", role: azPractitioner, owner: camille, method: "GET", path: est + "/inbox", status: 200, contains: []string{sqlite.DemoThreadMaternite}},
		{op: "listInbox", role: azOutsider, owner: camille, method: "GET", path: est + "/inbox", status: 200, notContains: []string{sqlite.DemoThreadMaternite}},
		{op: "listInbox", role: azOutsider, owner: camille, what: "service filter", method: "GET", path: est + "/inbox?service=" + sqlite.ServiceMaternite, status: 200, notContains: []string{sqlite.DemoThreadMaternite}},
		{op: "getThread", role: azAnonymous, method: "GET", path: thrPath, unknown: thrUnk, status: 401, code: unauth},
		{op: "getThread", role: azOwner, owner: camille, method: "GET", path: thrPath, status: 200, contains: []string{sqlite.DemoThreadMaternite}},
		{op: "getThread", role: azOtherPatient, owner: camille, method: "GET", path: thrPath, unknown: thrUnk, status: 404, code: notFound},
		{op: "getThread", role: azPractitioner, owner: camille, method: "GET", path: thrPath, status: 200, contains: []string{sqlite.DemoThreadMaternite}},
		{op: "getThread", role: azOutsider, owner: camille, method: "GET", path: thrPath, unknown: thrUnk, status: 404, code: notFound},
		{op: "sendMessage", role: azAnonymous, method: "POST", path: thrPath + "/messages", unknown: thrUnk + "/messages", body: sendBody("authz-message-0002"), status: 401, code: unauth},
		{op: "sendMessage", role: azOtherPatient, owner: camille, method: "POST", path: thrPath + "/messages", unknown: thrUnk + "/messages", body: sendBody("authz-message-0003"), status: 404, code: notFound},
		{op: "sendMessage", role: azOutsider, owner: camille, method: "POST", path: thrPath + "/messages", unknown: thrUnk + "/messages", body: sendBody("authz-message-0004"), status: 404, code: notFound},
		{op: "sendMessage", role: azOwner, owner: camille, method: "POST", path: thrPath + "/messages", body: sendBody("authz-message-0005"), status: 201},
		{op: "sendMessage", role: azPractitioner, owner: camille, method: "POST", path: thrPath + "/messages", body: sendBody("authz-message-0006"), status: 201},
		{op: "markThreadRead", role: azAnonymous, method: "POST", path: thrPath + "/read", unknown: thrUnk + "/read", status: 401, code: unauth},
		{op: "markThreadRead", role: azOtherPatient, owner: camille, method: "POST", path: thrPath + "/read", unknown: thrUnk + "/read", status: 404, code: notFound},
		{op: "markThreadRead", role: azOutsider, owner: camille, method: "POST", path: thrPath + "/read", unknown: thrUnk + "/read", status: 404, code: notFound},
		{op: "markThreadRead", role: azOwner, owner: camille, method: "POST", path: thrPath + "/read", status: 204},
		{op: "markThreadRead", role: azPractitioner, owner: camille, method: "POST", path: thrPath + "/read", status: 204},
		{op: "assignThread", role: azAnonymous, method: "POST", path: thrPath + "/assign", unknown: thrUnk + "/assign", status: 401, code: unauth},
		{op: "assignThread", role: azOwner, owner: camille, method: "POST", path: thrPath + "/assign", unknown: thrUnk + "/assign", status: 403, code: forbidden},
		{op: "assignThread", role: azOtherPatient, owner: camille, method: "POST", path: thrPath + "/assign", unknown: thrUnk + "/assign", status: 403, code: forbidden},
		{op: "assignThread", role: azOutsider, owner: camille, method: "POST", path: thrPath + "/assign", unknown: thrUnk + "/assign", status: 404, code: notFound},
		{op: "assignThread", role: azPractitioner, owner: camille, method: "POST", path: thrPath + "/assign", status: 200, contains: []string{sqlite.DemoThreadMaternite}},
		{op: "closeThread", role: azAnonymous, method: "POST", path: thrPath + "/close", unknown: thrUnk + "/close", status: 401, code: unauth},
		{op: "closeThread", role: azOwner, owner: camille, method: "POST", path: thrPath + "/close", unknown: thrUnk + "/close", status: 403, code: forbidden},
		{op: "closeThread", role: azOtherPatient, owner: camille, method: "POST", path: thrPath + "/close", unknown: thrUnk + "/close", status: 403, code: forbidden},
		{op: "closeThread", role: azOutsider, owner: camille, method: "POST", path: thrPath + "/close", unknown: thrUnk + "/close", status: 404, code: notFound},
		{op: "closeThread", role: azPractitioner, owner: camille, method: "POST", path: thrPath + "/close", status: 200, contains: []string{sqlite.DemoThreadMaternite}},
		{op: "getAttachment", role: azAnonymous, method: "GET", path: attPath, unknown: attUnk, status: 401, code: unauth},
		{op: "getAttachment", role: azOwner, owner: camille, method: "GET", path: attPath, status: 200, contains: []string{"%PDF-"}},
		{op: "getAttachment", role: azOtherPatient, owner: camille, method: "GET", path: attPath, unknown: attUnk, status: 404, code: notFound},
		{op: "getAttachment", role: azPractitioner, owner: camille, method: "GET", path: attPath, status: 200, contains: []string{"%PDF-"}},
		{op: "getAttachment", role: azOutsider, owner: camille, method: "GET", path: attPath, unknown: attUnk, status: 404, code: notFound},
		{op: "getAttachment", role: azOtherPatient, owner: camille, what: "unknown attachment", method: "GET", path: attPath, unknown: attUnk2, status: 404, code: notFound},
		{op: "getAttachment", role: azOutsider, owner: camille, what: "unknown attachment", method: "GET", path: attPath, unknown: attUnk2, status: 404, code: notFound},
		{op: "getAttachmentMetadata", role: azAnonymous, method: "GET", path: attPath + "/metadata", unknown: attUnk + "/metadata", status: 401, code: unauth},
		{op: "getAttachmentMetadata", role: azOwner, owner: camille, method: "GET", path: attPath + "/metadata", status: 200, contains: []string{"bilan.pdf"}},
		{op: "getAttachmentMetadata", role: azOtherPatient, owner: camille, method: "GET", path: attPath + "/metadata", unknown: attUnk + "/metadata", status: 404, code: notFound},
		{op: "getAttachmentMetadata", role: azPractitioner, owner: camille, method: "GET", path: attPath + "/metadata", status: 200, contains: []string{"bilan.pdf"}},
		{op: "getAttachmentMetadata", role: azOutsider, owner: camille, method: "GET", path: attPath + "/metadata", unknown: attUnk + "/metadata", status: 404, code: notFound},

		// Documents: Lucas Bernard's lab reports and his held biopsy
		// (diabetology), Camille Durand's ultrasound and its image
		// (maternity).
		{op: "listDocuments", role: azAnonymous, method: "GET", path: est + "/documents", status: 401, code: unauth},
		{op: "listDocuments", role: azOwner, owner: lucas, method: "GET", path: est + "/documents", status: 200, contains: []string{lab}, notContains: []string{sqlite.DemoDocumentBiopsy, sqlite.DemoDocumentUltrasound}},
		{op: "listDocuments", role: azOtherPatient, owner: lucas, method: "GET", path: est + "/documents", status: 200, contains: []string{sqlite.DemoDocumentUltrasound}, notContains: []string{lab, sqlite.DemoDocumentBiopsy}},
		{op: "listDocuments", role: azOwner, owner: lucas, what: "search", method: "GET", path: est + "/documents?q=biopsie", status: 200, notContains: []string{sqlite.DemoDocumentBiopsy}},
		{op: "listDocuments", role: azPractitioner, owner: lucas, what: "search", method: "GET", path: est + "/documents?q=biopsie", status: 200, contains: []string{sqlite.DemoDocumentBiopsy}},
		{op: "listDocuments", role: azOwner, owner: lucas, what: "held", method: "GET", path: est + "/documents?held=true", status: 403, code: forbidden},
		{op: "listDocuments", role: azOwner, owner: lucas, what: "patient filter", method: "GET", path: est + "/documents?patient=" + camille, status: 403, code: forbidden},
		{op: "listDocuments", role: azPractitioner, owner: lucas, method: "GET", path: est + "/documents?held=true", status: 200, contains: []string{sqlite.DemoDocumentBiopsy}},
		{op: "listDocuments", role: azOutsider, owner: lucas, method: "GET", path: est + "/documents", status: 200, contains: []string{sqlite.DemoDocumentUltrasound}, notContains: []string{lab, sqlite.DemoDocumentBiopsy}},
		{op: "listDocuments", role: azOutsider, owner: lucas, what: "held", method: "GET", path: est + "/documents?held=true", status: 200, notContains: []string{sqlite.DemoDocumentBiopsy}},
		{op: "listDocuments", role: azOutsider, owner: lucas, what: "patient filter", method: "GET", path: est + "/documents?patient=" + lucas, status: 200, notContains: []string{lab, sqlite.DemoDocumentBiopsy}},
		{op: "countDocuments", role: azAnonymous, method: "GET", path: est + "/documents/count", status: 401, code: unauth},
		{op: "countDocuments", role: azOwner, owner: lucas, method: "GET", path: est + "/documents/count", status: 200, contains: []string{`"total"`}},
		{op: "countDocuments", role: azOwner, owner: lucas, what: "search", method: "GET", path: est + "/documents/count?q=biopsie", status: 200, contains: []string{`"total":0`}},
		{op: "countDocuments", role: azOwner, owner: lucas, what: "held", method: "GET", path: est + "/documents/count?held=true", status: 403, code: forbidden},
		{op: "countDocuments", role: azPractitioner, owner: lucas, method: "GET", path: est + "/documents/count?held=true", status: 200, contains: []string{`"total":1`}},
		{op: "countDocuments", role: azOutsider, owner: lucas, method: "GET", path: est + "/documents/count?held=true", status: 200, contains: []string{`"total":0`}},
		{op: "uploadDocument", role: azAnonymous, method: "POST", path: est + "/documents", body: uploadLucas, status: 401, code: unauth},
		{op: "uploadDocument", role: azPractitioner, owner: lucas, method: "POST", path: est + "/documents", body: uploadLucas, status: 403, code: forbidden},
		{op: "uploadDocument", role: azUnlinked, method: "POST", path: est + "/documents", body: uploadInes, status: 403, code: portal.ErrServiceNotLinked},
		{op: "uploadDocument", role: azOwner, owner: lucas, method: "POST", path: est + "/documents", body: uploadLucas, status: 201},
		{op: "listAnalytes", role: azAnonymous, method: "GET", path: est + "/analytes", status: 401, code: unauth},
		{op: "listAnalytes", role: azOwner, owner: lucas, method: "GET", path: est + "/analytes", status: 200, contains: []string{sqlite.LOINCHbA1c}},
		{op: "listAnalytes", role: azOtherPatient, owner: lucas, method: "GET", path: est + "/analytes", status: 200, notContains: []string{sqlite.LOINCHbA1c}},
		{op: "listAnalytes", role: azPractitioner, owner: lucas, method: "GET", path: est + "/analytes", status: 403, code: forbidden},
		{op: "getTrend", role: azAnonymous, method: "GET", path: trendPath, unknown: trendUnk, status: 401, code: unauth},
		{op: "getTrend", role: azOwner, owner: lucas, method: "GET", path: trendPath, status: 200, contains: []string{sqlite.LOINCHbA1c}},
		{op: "getTrend", role: azOtherPatient, owner: lucas, method: "GET", path: trendPath, unknown: trendUnk, status: 404, code: notFound},
		{op: "getTrend", role: azPractitioner, owner: lucas, method: "GET", path: trendPath, unknown: trendUnk, status: 403, code: forbidden},
		{op: "getDocument", role: azAnonymous, method: "GET", path: labPath, unknown: labUnk, status: 401, code: unauth},
		{op: "getDocument", role: azOwner, owner: lucas, method: "GET", path: labPath, status: 200, contains: []string{lab}},
		{op: "getDocument", role: azOtherPatient, owner: lucas, method: "GET", path: labPath, unknown: labUnk, status: 404, code: notFound},
		{op: "getDocument", role: azPractitioner, owner: lucas, method: "GET", path: labPath, status: 200, contains: []string{lab}},
		{op: "getDocument", role: azOutsider, owner: lucas, method: "GET", path: labPath, unknown: labUnk, status: 404, code: notFound},
		{op: "getDocument", role: azOwner, owner: lucas, what: "held", method: "GET", path: bioPath, unknown: bioUnk, status: 404, code: notFound},
		{op: "getDocument", role: azOtherPatient, owner: lucas, what: "held", method: "GET", path: bioPath, unknown: bioUnk, status: 404, code: notFound},
		{op: "getDocument", role: azPractitioner, owner: lucas, what: "held", method: "GET", path: bioPath, status: 200, contains: []string{sqlite.DemoDocumentBiopsy, `"held"`}},
		{op: "getDocument", role: azOutsider, owner: lucas, what: "held", method: "GET", path: bioPath, unknown: bioUnk, status: 404, code: notFound},
		{op: "getDocument", role: azOwner, owner: lucas, what: "released", method: "GET", path: bioPath, status: 200, contains: []string{sqlite.DemoDocumentBiopsy, `"released"`}, late: true},
		{op: "getDocumentContent", role: azAnonymous, method: "GET", path: labPath + "/content", unknown: labUnk + "/content", status: 401, code: unauth},
		{op: "getDocumentContent", role: azOwner, owner: lucas, method: "GET", path: labPath + "/content", status: 200, contains: []string{"%PDF-"}},
		{op: "getDocumentContent", role: azOtherPatient, owner: lucas, method: "GET", path: labPath + "/content", unknown: labUnk + "/content", status: 404, code: notFound},
		{op: "getDocumentContent", role: azPractitioner, owner: lucas, method: "GET", path: labPath + "/content", status: 200, contains: []string{"%PDF-"}},
		{op: "getDocumentContent", role: azOutsider, owner: lucas, method: "GET", path: labPath + "/content", unknown: labUnk + "/content", status: 404, code: notFound},
		{op: "getDocumentContent", role: azOwner, owner: lucas, what: "held", method: "GET", path: bioPath + "/content", unknown: bioUnk + "/content", status: 404, code: notFound},
		{op: "getDocumentContent", role: azPractitioner, owner: lucas, what: "held", method: "GET", path: bioPath + "/content", status: 200, contains: []string{"%PDF-"}},
		{op: "getDocumentContent", role: azOutsider, owner: lucas, what: "held", method: "GET", path: bioPath + "/content", unknown: bioUnk + "/content", status: 404, code: notFound},
		{op: "getDocumentContent", role: azOwner, owner: lucas, what: "released", method: "GET", path: bioPath + "/content", status: 200, contains: []string{"%PDF-"}, late: true},
		{op: "getDocumentContent", role: azOutsider, owner: lucas, what: "released", method: "GET", path: bioPath + "/content", unknown: bioUnk + "/content", status: 404, code: notFound, late: true},
		{op: "getDocument", role: azOtherPatient, owner: lucas, what: "released", method: "GET", path: bioPath, unknown: bioUnk, status: 404, code: notFound, late: true},
		{op: "listDocuments", role: azOwner, owner: lucas, what: "released", method: "GET", path: est + "/documents", status: 200, contains: []string{sqlite.DemoDocumentBiopsy}, late: true},
		{op: "getDocumentImage", role: azAnonymous, method: "GET", path: imgPath, unknown: imgUnk, status: 401, code: unauth},
		{op: "getDocumentImage", role: azOwner, owner: camille, method: "GET", path: imgPath, status: 200, contains: []string{"PNG"}},
		{op: "getDocumentImage", role: azOtherPatient, owner: camille, method: "GET", path: imgPath, unknown: imgUnk, status: 404, code: notFound},
		{op: "getDocumentImage", role: azPractitioner, owner: camille, method: "GET", path: imgPath, status: 200, contains: []string{"PNG"}},
		{op: "getDocumentImage", role: azOutsider, owner: camille, method: "GET", path: imgPath, unknown: imgUnk, status: 404, code: notFound},
		{op: "getDocumentImage", role: azOwner, owner: lucas, what: "held", method: "GET", path: bioPath + "/images/" + img, unknown: bioUnk + "/images/" + img, status: 404, code: notFound},
		{op: "getDocumentImage", role: azOtherPatient, owner: camille, what: "unknown image", method: "GET", path: imgPath, unknown: imgUnk2, status: 404, code: notFound},
		{op: "markDocumentSeen", role: azAnonymous, method: "POST", path: labPath + "/seen", unknown: labUnk + "/seen", status: 401, code: unauth},
		{op: "markDocumentSeen", role: azOtherPatient, owner: lucas, method: "POST", path: labPath + "/seen", unknown: labUnk + "/seen", status: 404, code: notFound},
		{op: "markDocumentSeen", role: azPractitioner, owner: lucas, method: "POST", path: labPath + "/seen", unknown: labUnk + "/seen", status: 403, code: forbidden},
		{op: "markDocumentSeen", role: azOutsider, owner: lucas, method: "POST", path: labPath + "/seen", unknown: labUnk + "/seen", status: 403, code: forbidden},
		{op: "markDocumentSeen", role: azOwner, owner: lucas, what: "held", method: "POST", path: bioPath + "/seen", unknown: bioUnk + "/seen", status: 404, code: notFound},
		{op: "markDocumentSeen", role: azOwner, owner: lucas, method: "POST", path: labPath + "/seen", status: 204},
		{op: "releaseDocument", role: azAnonymous, method: "POST", path: bioPath + "/release", unknown: bioUnk + "/release", status: 401, code: unauth},
		{op: "releaseDocument", role: azOwner, owner: lucas, method: "POST", path: bioPath + "/release", unknown: bioUnk + "/release", status: 403, code: forbidden},
		{op: "releaseDocument", role: azOtherPatient, owner: lucas, method: "POST", path: bioPath + "/release", unknown: bioUnk + "/release", status: 403, code: forbidden},
		{op: "releaseDocument", role: azOutsider, owner: lucas, method: "POST", path: bioPath + "/release", unknown: bioUnk + "/release", status: 404, code: notFound},
		{op: "releaseDocument", role: azPractitioner, owner: lucas, method: "POST", path: bioPath + "/release", status: 200, contains: []string{sqlite.DemoDocumentBiopsy, `"released"`}},

		// Access grants: Camille Durand's grant to Nathalie Fournier. The
		// grant is granted again (200) before it is revoked.
		{op: "listGrants", role: azAnonymous, method: "GET", path: "/api/v1/grants", status: 401, code: unauth},
		{op: "listGrants", role: azOwner, owner: camille, method: "GET", path: "/api/v1/grants", status: 200, contains: []string{grant.ID}},
		{op: "listGrants", role: azOtherPatient, owner: camille, method: "GET", path: "/api/v1/grants", status: 200, contains: []string{`"grants":[]`}},
		{op: "listGrants", role: azPractitioner, owner: camille, method: "GET", path: "/api/v1/grants", status: 403, code: forbidden},
		{op: "grantAccess", role: azAnonymous, method: "POST", path: est + "/grants", body: grantBody, status: 401, code: unauth},
		{op: "grantAccess", role: azPractitioner, owner: camille, method: "POST", path: est + "/grants", body: grantBody, status: 403, code: forbidden},
		{op: "grantAccess", role: azOwner, owner: camille, what: "unknown practitioner", method: "POST", path: est + "/grants", body: `{"practitioner":"pr-nobody"}`, status: 404, code: notFound},
		{op: "grantAccess", role: azOwner, owner: camille, what: "again", method: "POST", path: est + "/grants", body: grantBody, status: 200, contains: []string{grant.ID}},
		{op: "grantAccess", role: azOwner, owner: lucas, method: "POST", path: est + "/grants", body: `{"practitioner":"pr-marc-lambert"}`, status: 201, contains: []string{"pr-marc-lambert"}},
		{op: "revokeAccess", role: azAnonymous, method: "POST", path: grantPath, unknown: grantUnk, status: 401, code: unauth},
		{op: "revokeAccess", role: azPractitioner, owner: camille, method: "POST", path: grantPath, unknown: grantUnk, status: 403, code: forbidden},
		{op: "revokeAccess", role: azOtherPatient, owner: camille, method: "POST", path: grantPath, unknown: grantUnk, status: 404, code: notFound},
		{op: "revokeAccess", role: azOwner, owner: camille, method: "POST", path: grantPath, status: 200, contains: []string{grant.ID, `"revoked"`}},

		// The professional directory by RPPS number: patients only.
		{op: "getPractitionerByRPPS", role: azAnonymous, method: "GET", path: rppsPath, status: 401, code: unauth},
		{op: "getPractitionerByRPPS", role: azPractitioner, owner: camille, method: "GET", path: rppsPath, status: 403, code: forbidden},
		{op: "getPractitionerByRPPS", role: azOwner, owner: camille, method: "GET", path: rppsPath, status: 200,
			contains: []string{sqlite.DemoPractitionerPaulMercier, sqlite.DemoRPPSPaulMercier}},
		{op: "getPractitionerByRPPS", role: azOwner, owner: camille, what: "malformed", method: "GET", path: "/api/v1/practitioners/rpps/10000009993", status: 400, code: portal.ErrInvalid},
		{op: "getPractitionerByRPPS", role: azOwner, owner: camille, what: "unknown", method: "GET", path: "/api/v1/practitioners/rpps/10000000009", status: 404, code: notFound},
	}

	// Every documented operation has rows, and every row a documented
	// operation.
	ops := azOperations(t)
	covered := map[string]int{}
	for _, r := range rows {
		if _, ok := ops[r.op]; !ok {
			t.Errorf("row %s: operation %q is not in openapi.json", r.name(), r.op)
		}
		covered[r.op]++
	}
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		if covered[op] == 0 {
			t.Errorf("operation %s (%s) has no row in the authorization matrix", op, ops[op])
		}
	}
	t.Logf("authorization matrix: %d rows over %d operations", len(rows), len(covered))

	// Reads and refused writes first, then the writes that succeed, in
	// table order, then the late rows.
	var early, writes, late []azRow
	for _, r := range rows {
		switch {
		case r.late:
			late = append(late, r)
		case r.mutates():
			writes = append(writes, r)
		default:
			early = append(early, r)
		}
	}
	// Every session exists before the first row.
	for _, p := range []string{camille, lucas, ines} {
		patient(p)
	}
	for _, p := range []string{claire, julien} {
		practitioner(p)
	}
	before := azSnapshot(t, th)
	run := func(r azRow) {
		t.Run(r.name(), func(t *testing.T) {
			if r.bug != "" {
				t.Skip("BUG: " + r.bug)
			}
			c := caller(t, r)
			c.t = t
			got := c.do(r.method, r.path, r.header, r.body)
			if got.status != r.status {
				t.Fatalf("%s %s: %d %s, want %d %s", r.method, r.path, got.status, got.body, r.status, r.code)
			}
			if r.code != "" {
				if code := errorCode(t, got.body); code != r.code {
					t.Errorf("%s %s: code %s, want %s: %s", r.method, r.path, code, r.code, got.body)
				}
			}
			for _, s := range r.contains {
				if !bytes.Contains(got.body, []byte(s)) {
					t.Errorf("%s %s: the answer lacks %q: %.300s", r.method, r.path, s, got.body)
				}
			}
			for _, s := range r.notContains {
				if bytes.Contains(got.body, []byte(s)) {
					t.Errorf("%s %s: the answer tells of %q: %.300s", r.method, r.path, s, got.body)
				}
			}
			if r.unknown != "" {
				sameReply(t, r.method+" "+r.path+" as "+string(r.role), got, c.do(r.method, r.unknown, r.header, r.body))
			}
			if r.method != "GET" && r.status >= 400 {
				if after := azSnapshot(t, th); !reflect.DeepEqual(after, before) {
					t.Errorf("a refused %s %s changed the database:\nbefore %+v\nafter  %+v", r.method, r.path, before, after)
				}
			}
		})
	}
	for _, r := range early {
		run(r)
	}
	for _, r := range writes {
		run(r)
	}
	for _, r := range late {
		run(r)
	}

	// The snapshot sees what the writes that succeeded did, so it would see
	// a refused write's.
	after := azSnapshot(t, th)
	for what, same := range map[string]bool{
		"appointments and slots": reflect.DeepEqual(after.Booking, before.Booking),
		"Camille's threads":      reflect.DeepEqual(after.Threads[camille], before.Threads[camille]),
		"the maternity thread":   reflect.DeepEqual(after.Conversation, before.Conversation),
		"the maternity's inbox":  reflect.DeepEqual(after.Inbox, before.Inbox),
		"Lucas's documents":      reflect.DeepEqual(after.Documents[lucas], before.Documents[lucas]),
		"the held documents":     reflect.DeepEqual(after.HeldDocuments, before.HeldDocuments),
	} {
		if same {
			t.Errorf("the writes of the matrix left %s unchanged: the snapshot does not see them", what)
		}
	}
}
