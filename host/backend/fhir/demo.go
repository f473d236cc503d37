package fhir

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir/fhirserver"
	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// The demo's second establishment, served from a FHIR server (SeedDemo).
// Every name is fictional.
const (
	DemoEstablishment = "ch-nord"
	DemoCardiology    = "cardiologie"
	DemoPneumology    = "pneumologie"
)

// demoPatients are the demo's patients, with the ids of the SQLite demo
// (host/backend/sqlite) so that they are the same people in both
// establishments, and valid test INS (NIR test system).
var demoPatients = []struct{ id, given, family, gender, birth, ins string }{
	{"pat-camille-durand", "Camille", "Durand", "female", "1979-03-14", "279035121518989"},
	{"pat-lucas-bernard", "Lucas", "Bernard", "male", "1985-07-02", "185077505612323"},
	{"pat-ines-moreau", "Inès", "Moreau", "female", "1992-01-21", "292016912304592"},
}

// demoPractitioners are CH Nord's practitioners, with fictional, well
// formed RPPS numbers (portal.ValidRPPS) distinct from the SQLite demo's.
var demoPractitioners = []struct{ id, given, family, service, roleFR, roleEN, rpps string }{
	{"pr-nord-antoine-leroy", "Antoine", "Leroy", DemoCardiology, "Cardiologue", "Cardiologist", "10000011113"},
	{"pr-nord-sarah-petit", "Sarah", "Petit", DemoPneumology, "Pneumologue", "Pulmonologist", "10000012228"},
}

// The demo's city doctor: a general practitioner of no service, whom a
// patient finds by his RPPS number (PractitionerByRPPS) and grants access
// to their documents. He is the SQLite demo's city doctor
// (sqlite.DemoPractitionerPaulMercier, same id and number): the same
// person in both establishments.
const (
	DemoCityDoctor     = "pr-paul-mercier"
	DemoCityDoctorRPPS = "10000009992"
)

// demoAccounts returns the account identifiers (SystemAccountPrefix) of
// the demo identity provider's accounts (host/demoid) linked to
// person: the demo patients, who have the SQLite demo's ids, are the same
// people here; the demo's practitioners work in the SQLite establishment
// only, and none of this one's has an account.
func demoAccounts(person string) []any {
	var out []any
	for _, a := range demoid.Accounts {
		if a.Person == person {
			out = append(out, map[string]any{"use": "secondary", "system": accountSystem(demoid.Provider), "value": a.Subject})
		}
	}
	return out
}

// StartDemoServer starts the FHIR test server (fhirserver) on the loopback
// port given (0: a free one) and loads the demo's establishment into it
// (SeedDemo), as `make demo`, `make worker-dev` and the bench need it.
// log may be nil. Stop the server with its Stop.
func StartDemoServer(ctx context.Context, port int, log *slog.Logger) (*fhirserver.Server, error) {
	var s *fhirserver.Server
	var err error
	if port == 0 {
		s, err = fhirserver.Start(ctx)
	} else {
		s, err = fhirserver.StartPort(ctx, port)
	}
	if err != nil {
		return nil, err
	}
	b, err := New(Config{BaseURL: s.Base, Logger: log})
	if err == nil {
		err = b.SeedDemo(ctx, time.Now())
	}
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("loading the demo into the FHIR test server: %w", err)
	}
	return s, nil
}

// SeedDemo loads the demo's second establishment into a fresh server:
// Centre hospitalier Nord (DemoEstablishment), its cardiology and
// pneumology with a practitioner each, free slots on weekday mornings of
// the 14 days after now (Europe/Paris), the demo patients (with their demo
// accounts' identifiers, see demoAccounts), the practitioners' RPPS
// numbers and a city doctor of no service (DemoCityDoctor), and a
// cardiology report for Lucas Bernard. Resources are written with their
// ids (PUT): loading again over booked slots would free them, so it is
// for a new server, as the demo's.
func (b *Backend) SeedDemo(ctx context.Context, now time.Time) error {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return err
	}
	var entries []map[string]any
	put := func(r map[string]any) {
		entries = append(entries, map[string]any{"resource": r,
			"request": map[string]any{"method": "PUT", "url": fmt.Sprintf("%s/%s", r["resourceType"], r["id"])}})
	}
	translated := func(fr, en string) (string, map[string]any) {
		return fr, map[string]any{"extension": []any{map[string]any{"url": ExtTranslation, "extension": []any{
			map[string]any{"url": "lang", "valueCode": "en"}, map[string]any{"url": "content", "valueString": en}}}}}
	}
	help, helpEN := translated("En cas d'urgence, appelez le 15 (SAMU) ou le 112. Standard du CH Nord : 03 20 00 00 00.",
		"In an emergency, call 15 (SAMU) or 112. CH Nord switchboard: +33 3 20 00 00 00.")
	put(map[string]any{"resourceType": "Organization", "id": DemoEstablishment, "active": true, "name": "Centre hospitalier Nord",
		"extension": []any{map[string]any{"url": ExtTimeZone, "valueCode": "Europe/Paris"},
			map[string]any{"url": ExtUrgentHelp, "valueString": help, "_valueString": helpEN}}})
	for _, s := range []struct{ id, fr, en string }{{DemoCardiology, "Cardiologie", "Cardiology"}, {DemoPneumology, "Pneumologie", "Pulmonology"}} {
		name, nameEN := translated(s.fr, s.en)
		put(map[string]any{"resourceType": "HealthcareService", "id": s.id, "active": true,
			"providedBy": map[string]any{"reference": "Organization/" + DemoEstablishment}, "name": name, "_name": nameEN})
	}
	for _, p := range demoPatients {
		put(map[string]any{"resourceType": "Patient", "id": p.id,
			"meta":       map[string]any{"tag": []any{map[string]any{"system": SystemTag, "code": TagDemo}}},
			"identifier": append([]any{map[string]any{"use": "official", "system": INSNIRTest, "value": p.ins}}, demoAccounts(p.id)...),
			"name":       []any{map[string]any{"use": "official", "family": p.family, "given": []any{p.given}}},
			"gender":     p.gender, "birthDate": p.birth})
	}
	for _, p := range demoPractitioners {
		role, roleEN := translated(p.roleFR, p.roleEN)
		short := strings.TrimPrefix(p.id, "pr-")
		put(map[string]any{"resourceType": "Practitioner", "id": p.id, "active": true,
			"identifier": append([]any{rppsIdentifier(p.rpps)}, demoAccounts(p.id)...),
			"name":       []any{map[string]any{"use": "official", "family": p.family, "given": []any{p.given}}}})
		put(map[string]any{"resourceType": "PractitionerRole", "id": "role-" + short, "active": true,
			"practitioner": map[string]any{"reference": "Practitioner/" + p.id}, "organization": map[string]any{"reference": "Organization/" + DemoEstablishment},
			"healthcareService": []any{map[string]any{"reference": "HealthcareService/" + p.service}},
			"code":              []any{map[string]any{"text": role, "_text": roleEN}}})
		put(map[string]any{"resourceType": "Schedule", "id": "sch-" + short, "active": true,
			"actor": []any{map[string]any{"reference": "Practitioner/" + p.id, "display": p.given + " " + p.family},
				map[string]any{"reference": "HealthcareService/" + p.service}}})
		day := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc)
		for d := 1; d <= 14; d++ {
			date := day.AddDate(0, 0, d)
			if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
				continue
			}
			for m := 9 * 60; m < 12*60; m += 30 {
				start := date.Add(time.Duration(m) * time.Minute)
				put(map[string]any{"resourceType": "Slot", "id": "slot-" + short + "-" + start.Format("20060102T1504"),
					"schedule": map[string]any{"reference": "Schedule/sch-" + short}, "status": "free",
					"start": start.Format(time.RFC3339), "end": start.Add(30 * time.Minute).Format(time.RFC3339)})
			}
		}
	}
	put(map[string]any{"resourceType": "Practitioner", "id": DemoCityDoctor, "active": true,
		"identifier":    append([]any{rppsIdentifier(DemoCityDoctorRPPS)}, demoAccounts(DemoCityDoctor)...),
		"name":          []any{map[string]any{"use": "official", "family": "Mercier", "given": []any{"Paul"}}},
		"qualification": []any{map[string]any{"code": map[string]any{"text": "Médecin généraliste (cabinet de ville)"}}}})
	// Transactions of at most 50 entries: servers bound them (Medplum's
	// engine refuses more), and every entry is a PUT, safe to split.
	for len(entries) > 0 {
		n := min(len(entries), 50)
		body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries[:n]})
		if err != nil {
			return err
		}
		if _, err := b.LoadBundle(ctx, body); err != nil {
			return err
		}
		entries = entries[n:]
	}
	report := "Consultation de cardiologie du " + now.In(loc).AddDate(0, 0, -20).Format("02/01/2006") + ".\n\n" +
		"Patient suivi pour un diabète de type 2, adressé pour un bilan cardiovasculaire.\n" +
		"Électrocardiogramme : rythme sinusal régulier, pas de trouble de la repolarisation.\n" +
		"Échocardiographie : fonction ventriculaire gauche conservée (FEVG 60 %).\n\n" +
		"Conclusion : pas de contre-indication à l'activité physique. Contrôle dans un an.\n\nDr Antoine Leroy, cardiologue.\n"
	_, err = b.FileDocument(ctx, portal.NewDocument{
		Establishment: DemoEstablishment, Service: DemoCardiology, Patient: "pat-lucas-bernard",
		Type: portal.DocConsultationReport, Title: "Consultation de cardiologie", Date: now.In(loc).AddDate(0, 0, -20).Truncate(time.Hour),
		Author: "Dr Antoine Leroy", SourceID: "demo-nord-cardio-lucas",
		File: portal.NewFile{Name: "consultation-cardiologie.txt", ContentType: portal.ContentTypeText, Content: []byte(report)},
	})
	return err
}

// rppsIdentifier is the Practitioner identifier of an RPPS number
// (portal.SystemRPPS).
func rppsIdentifier(rpps string) map[string]any {
	return map[string]any{"use": "official", "system": portal.SystemRPPS, "value": rpps}
}
