package host_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestAuditCompleteness: every request that reads health data, allowed or
// refused, leaves exactly one audit record with its person, operation,
// entity and outcome; the public routes leave none.
func TestAuditCompleteness(t *testing.T) {
	// A host of its own, with documents, practitioners and the audit.
	th := newTestHostWith(t, func(c *host.Config) {
		store := c.Booking.(*sqlite.Store)
		c.Audit = store
		c.Documents = store.Documents()
		c.Messaging = store.Messaging()
		c.CareTeam = store
	})
	ctx := context.Background()
	count := func(q portal.AuditQuery) []portal.AuditEvent {
		t.Helper()
		list, err := th.Store.AuditEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	base := len(count(portal.AuditQuery{}))

	lucas := th.raw(t, sqlite.DemoPatientLucasBernard)
	camille := th.raw(t, sqlite.DemoPatientCamilleDurand)
	anonymous := th.raw(t, "")
	afterSignIn := len(count(portal.AuditQuery{}))
	if afterSignIn != base+2 {
		t.Errorf("two demo sign-ins left %d audit records, want 2", afterSignIn-base)
	}
	const reads = 5
	for range reads {
		if s, b := lucas.do("GET", "/api/v1/establishments/chu-exemple/documents", nil, ""); s != 200 {
			t.Fatalf("list documents: %d %s", s, b)
		}
	}
	// Camille asks for Lucas's held biopsy three times: refused, recorded.
	for range 3 {
		if s, _ := camille.do("GET", "/api/v1/documents/"+sqlite.DemoDocumentBiopsy, nil, ""); s != 404 {
			t.Fatalf("another patient's document: %d, want 404", s)
		}
	}
	// Anonymous twice.
	for range 2 {
		if s, _ := anonymous.do("GET", "/api/v1/appointments", nil, ""); s != 401 {
			t.Fatalf("anonymous appointments: %d, want 401", s)
		}
	}
	// Public reads leave nothing.
	for range 4 {
		if s, _ := anonymous.do("GET", "/api/v1/establishments/chu-exemple/services", nil, ""); s != 200 {
			t.Fatalf("services: %d", s)
		}
	}
	// A practitioner reads Lucas's held biopsy: the record names Lucas.
	julien := th.raw(t, "")
	if s, b := julien.do("POST", "/api/v1/demo/practitioner-session", map[string]string{"Content-Type": "application/json"}, `{"practitioner":"pr-julien-roux"}`); s != 200 {
		t.Fatalf("practitioner sign-in: %d %s", s, b)
	}
	if s, b := julien.do("GET", "/api/v1/documents/"+sqlite.DemoDocumentBiopsy, nil, ""); s != 200 {
		t.Fatalf("practitioner reads the biopsy: %d %s", s, b)
	}

	all := count(portal.AuditQuery{})[afterSignIn:]
	if want := reads + 3 + 2 + 1 + 1; len(all) != want {
		for _, e := range all {
			t.Logf("%+v", e)
		}
		t.Fatalf("%d audit records, want %d (5 reads, 3 refusals, 2 anonymous, a sign-in, a practitioner's read)", len(all), want)
	}
	var listed, denied, anon int
	for _, e := range all {
		switch {
		case e.Operation == "listDocuments" && e.Agent == sqlite.DemoPatientLucasBernard && e.Patient == sqlite.DemoPatientLucasBernard &&
			e.Outcome == portal.AuditSuccess && e.Action == portal.AuditRead && e.Establishment == sqlite.DemoEstablishment:
			listed++
		case e.Operation == "getDocument" && e.Agent == sqlite.DemoPatientCamilleDurand && e.Outcome == portal.AuditDenied &&
			e.Entity == "DocumentReference/"+sqlite.DemoDocumentBiopsy && e.Status == 404:
			denied++
		case e.Operation == "listAppointments" && e.AgentKind == "anonymous" && e.Agent == "" && e.Outcome == portal.AuditDenied && e.Status == 401:
			anon++
		}
		if e.Time.Location().String() != "UTC" || e.ID == "" || e.Network == "" {
			t.Errorf("record %+v: want a UTC time, an id and the client's address", e)
		}
	}
	if listed != reads || denied != 3 || anon != 2 {
		t.Errorf("records: %d reads (want %d), %d refusals (want 3), %d anonymous (want 2)", listed, reads, denied, anon)
	}
	last := all[len(all)-1]
	if last.Operation != "getDocument" || last.AgentKind != "practitioner" || last.Agent != "pr-julien-roux" ||
		last.Patient != sqlite.DemoPatientLucasBernard || last.Outcome != portal.AuditSuccess {
		t.Errorf("the practitioner's read: %+v, want Julien Roux reading Lucas Bernard's document", last)
	}
	// Lucas sees, in the audit of his data, the practitioner's read and
	// Camille's refused attempts.
	mine := count(portal.AuditQuery{Patient: sqlite.DemoPatientLucasBernard})
	sawJulien := false
	for _, e := range mine {
		sawJulien = sawJulien || e.Agent == "pr-julien-roux"
	}
	if !sawJulien {
		t.Error("Lucas Bernard's audit lacks the practitioner's read")
	}

	// Lucas's access log: the practitioner's read, named, and none of his
	// own requests.
	status, body := lucas.do("GET", "/api/v1/access-log", nil, "")
	var log client.AccessLog
	if status != 200 || json.Unmarshal(body, &log) != nil {
		t.Fatalf("access log: %d %s", status, body)
	}
	if len(log.Entries) != 1 || log.Entries[0].Agent != "pr-julien-roux" || log.Entries[0].AgentName != "Julien Roux" ||
		log.Entries[0].Operation != "getDocument" || log.Entries[0].Outcome != portal.AuditSuccess || log.Next != "" {
		t.Errorf("Lucas Bernard's access log: %s", body)
	}
	// Pages: two more reads by the practitioner, then one entry a page.
	for range 2 {
		julien.do("GET", "/api/v1/documents/"+sqlite.DemoDocumentBiopsy, nil, "")
	}
	var seen []string
	after := ""
	for range 5 {
		status, body := lucas.do("GET", "/api/v1/access-log?limit=1&after="+after, nil, "")
		var page client.AccessLog
		if status != 200 || json.Unmarshal(body, &page) != nil || len(page.Entries) > 1 {
			t.Fatalf("access log page: %d %s", status, body)
		}
		for _, e := range page.Entries {
			seen = append(seen, e.ID)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(seen) != 3 || seen[0] == seen[1] || seen[1] == seen[2] {
		t.Errorf("paged access log: %v, want 3 distinct entries", seen)
	}
	// The same through the SDK's client.
	viaClient, err := th.signedIn(t, sqlite.DemoPatientLucasBernard).AccessLog(ctx, "", 0)
	if err != nil || len(viaClient.Entries) != 3 || viaClient.Entries[2].ID != seen[2] {
		t.Errorf("client.AccessLog: %+v, %v", viaClient, err)
	}
	// Newest first: the practitioner's last read leads.
	var lastRead string
	for _, e := range count(portal.AuditQuery{Patient: sqlite.DemoPatientLucasBernard}) {
		if e.Agent == "pr-julien-roux" {
			lastRead = e.ID
		}
	}
	if len(viaClient.Entries) == 0 || viaClient.Entries[0].ID != lastRead {
		t.Errorf("access log: first entry %+v, want the latest read %s (newest first)", viaClient.Entries, lastRead)
	}
	if status, _ := lucas.do("GET", "/api/v1/access-log?limit=0", nil, ""); status != 400 {
		t.Errorf("limit=0: %d, want 400", status)
	}
}
